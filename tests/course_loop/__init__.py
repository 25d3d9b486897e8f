"""Helpers of the course-loop tests (tests/grading/jupyterhub/test_course_loop.py, tests/grading/plugins/test_lms_route.py)."""
