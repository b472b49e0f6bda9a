"""The analysis floor: statistics, the report, validation, sensitivity analysis and calibration.

Reads what the runs floor writes and drives it; nothing below imports it.
"""
