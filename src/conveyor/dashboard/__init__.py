"""The web page served at `/`: static files from `static/`, no build step, no CDN."""
