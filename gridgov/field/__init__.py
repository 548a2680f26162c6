"""The field app: an installable web app (PWA) at /field/ for grid workers and patrol teams.

A small shell (HTML, own scripts, the console's vendored Leaflet) that a service worker
precaches; everything it reads and writes goes through the API with the console's cookie
session and CSRF token. Reports and patrol points wait in IndexedDB until the server has them.
"""
