"""The sohoa shell: settings and the `sohoa` command that wires the parts together."""

__version__ = "0.1.0"
