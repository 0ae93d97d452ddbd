"""Use cases: what the web pages, the JSON API and the command line do, each written once.

A service calls the domain for decisions and the store for records; the adapters only parse
their input, call one service and render what it returns.
"""
