"""Logging in as a person does: through the login form (django-axes needs the request)."""


def log_in(client, username: str, password: str) -> bool:
    """Post the login form; True when it let the person in (a redirect to their work)."""
    client.post("/logout/")
    response = client.post("/login/", {"username": username, "password": password})
    return response.status_code == 302 and "/login/" not in response["Location"]
