"""One session per command: parse, check, load, periods, execute on the chosen engine, trace
(session); the columnar run that writes payouts (columnar); parallel payee slices (parallel);
progress on stderr (progress); tests written beside a plan (plantest).
"""
