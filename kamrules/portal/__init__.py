"""The portal: pages computed for people (every payee's statement, the team page) and
`kamrules serve`, a local read-only web server that serves them (app.py, needs the
`portal` extra: Starlette and uvicorn), each page computed when first asked for and kept
(cache.py); with `--tokens`, who may read what (access.py)
and the sign-in and security headers of every response (guard.py)."""
