"""Stage 7b — the web service: officials publish and answer, each person reads only their own decision.

`app.create_app(store, Settings(...))` builds the Starlette/FastAPI application that `policydsl serve` runs on
uvicorn. Modules: `app` (routes for citizens, officials and the JSON API), `security` (sessions, CSRF, rate
limits, headers, upload limits, masking), `texts` (the words of the citizens' pages in Chinese and English),
`letters` (decision letters with the access code and a QR code), `templates/` (jinja2, autoescaped).
"""
