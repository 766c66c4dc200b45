"""The web pages (/dashboard/, /docs/) and their static assets, served by the app itself."""
