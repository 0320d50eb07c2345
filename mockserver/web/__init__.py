"""HTTP at the edge: the Werkzeug app, its route table, request reading, error rendering and the admin API."""
