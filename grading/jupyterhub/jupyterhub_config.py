"""JupyterHub configuration of the course: one machine, local users, nbgrader's exchange.

Started by ``python -m grading.jupyterhub`` (see ``__main__.py`` and the
instructors' guide, "Running the course on JupyterHub"), which writes the
settings this file reads (``GM_HUB_SETTINGS``, a JSON file): the address, the
instructor and the students (existing Unix users), the course folder, the
exchange, the Python the users' servers run and the proxy's command.

* Each user's server is their own process, as their Unix user
  (``LocalProcessSpawner``, The Littlest JupyterHub's convention), with
  nbgrader's server and lab extensions: students fetch, validate and submit
  in JupyterLab's *Assignments* tab (menu *Nbgrader*); the instructor's
  server starts in the course folder and serves the formgrader.
* The formgrader is opened as its own page, ``/user/<instructor>/formgrader``:
  JupyterHub >= 4.1 sends ``Content-Security-Policy: frame-ancestors 'none'``
  from every single-user server, so JupyterLab's *Formgrader* tab (an
  iframe) stays blank (nbgrader issue #1870).  Allowing frames again would
  undo JupyterHub's protection against same-origin attacks between users'
  servers; nbgrader reverted its own attempt (PR #1947) for that reason.
"""

import json
import os

c = get_config()  # noqa: F821 (injected by traitlets)

with open(os.environ["GM_HUB_SETTINGS"]) as _f:
    S = json.load(_f)

c.JupyterHub.ip = S["ip"]
c.JupyterHub.port = S["port"]
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = S["hub_port"]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{S['proxy_api_port']}"
c.ConfigurableHTTPProxy.command = [S["proxy"]]
c.ConfigurableHTTPProxy.should_start = True
c.JupyterHub.db_url = "sqlite:///" + os.path.join(S["state"], "jupyterhub.sqlite")
c.JupyterHub.cookie_secret_file = os.path.join(S["state"], "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = os.path.join(S["state"], "jupyterhub.pid")
c.ConfigurableHTTPProxy.pid_file = os.path.join(S["state"], "proxy.pid")
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True

# Who may log in: the instructor and the students, nobody else.
c.Authenticator.allowed_users = set([S["instructor"], *S["students"]])
if S["authenticator"] == "shared-password":
    # One password for everybody: for a test or a workshop on loopback, never on a network.
    c.JupyterHub.authenticator_class = "shared-password"
    with open(S["password_file"]) as _f:
        c.SharedPasswordAuthenticator.user_password = _f.read().strip()
else:
    c.JupyterHub.authenticator_class = "pam"  # the users' Unix passwords (The Littlest JupyterHub: its own)

c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [S["python"], "-m", "jupyterhub.singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
# the settings' user_env: PATH (the environment first: nbgrader runs alembic), JUPYTER_CONFIG_PATH (the
# hub-side nbgrader_config.py first), JUPYTER_PATH, the exchange and the course id; the instructor's adds
# GM_COURSE_ROOT (written to STATE/instructor.env for commands outside the server)
c.Spawner.environment = dict(S["user_env"])


def _pre_spawn(spawner):
    """The instructor's server starts in the course folder and reads the course's configuration."""
    if spawner.user.name == S["instructor"]:
        spawner.notebook_dir = S["course"]
        spawner.environment = dict(S["instructor_env"])


c.Spawner.pre_spawn_hook = _pre_spawn
