"""The web app (Gradio): `app.py` lays out the tabs and serves them (`duty-assistant serve`); `auth.py` reads
logins, `question_log.py` keeps the optional question log, `filters.py` holds the dropdowns and the Browse
search; the page's style and scripts are `static/app.css` and `static/app.js`. The HTML is assistant.render's."""
