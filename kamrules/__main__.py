"""`python -m kamrules`."""
import sys

from kamrules.cli.main import main

sys.exit(main())
