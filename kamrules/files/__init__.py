"""Every file the tool touches: inputs read only inside the data folder, never blocking on a FIFO or
a device (inputs), and outputs written whole or not at all, never over a file it was not asked
to write (outputs).
"""
