"""Compliance: the licence check of a lock against the project's policy, and its report formats.

It sits above both :mod:`kmenv.lockfile` (what is locked) and :mod:`kmenv.policy` (what is
allowed), so neither of those needs the other to judge a lock. Pure: values in, a report out;
:mod:`kmenv.compliance.places` finds where findings point in ``kmodels.yaml`` text.
"""
