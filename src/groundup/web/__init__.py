"""The web app: server-rendered pages for people and clinicians, and the REST API."""
