"""nbgrader's hub-side configuration: read by every user's Jupyter server and nbgrader command on the hub.

``python -m grading.jupyterhub`` copies this file into its state folder and
puts that folder first on every single-user server's ``JUPYTER_CONFIG_PATH``
(on The Littlest JupyterHub: copy it to ``/opt/tljh/user/etc/jupyter/``).
It names the course and the exchange for the students' *Assignments* tab
(fetch, validate, submit, fetch feedback), and, in the instructor's server
and commands only (``GM_COURSE_ROOT`` set), points nbgrader at the course
folder and loads the course's own ``nbgrader_config.py``: the formgrader
runs in the instructor's home, not in the course, so it would not find it.
"""

import os

c = get_config()  # noqa: F821 (injected by traitlets)

# The exchange: a folder every user can write (mode 1777); nbgrader makes
# <course_id>/outbound, inbound and feedback in it with their own modes.
c.Exchange.root = os.environ.get("GM_NBGRADER_EXCHANGE", "/srv/nbgrader/exchange")
c.CourseDirectory.course_id = os.environ.get("GM_NBGRADER_COURSE_ID", "generative-mnist")

# The students' Validate button (and `nbgrader validate`) runs the notebook
# with nbgrader's Execute, whose default limit is 30 seconds per cell: this
# notebook's fit (choosing c on 60,000 images) takes longer on a shared
# machine, the cell is cut off and every check after it fails with a
# NameError.  Grading does not use Execute (the course's SandboxedExecute has
# its own limits): this is for validation only.
c.Execute.timeout = 600

_course = os.environ.get("GM_COURSE_ROOT")
if _course:
    load_subconfig(os.path.join(_course, "nbgrader_config.py"))  # noqa: F821 (injected by traitlets)
    c.CourseDirectory.root = _course
    c.Exchange.root = os.environ.get("GM_NBGRADER_EXCHANGE", "/srv/nbgrader/exchange")
