"""Quota plans as data, progress per unit/level/year, forecasts, report rendering."""
