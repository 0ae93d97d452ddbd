"""ldnkit: low-dose naltrexone therapy, from the first question to the outcome."""

__version__ = "0.1.0"
