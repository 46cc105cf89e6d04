"""The commands of the ``vaxtrace`` command line, one module per group of commands;
``vaxtrace.cli`` is the root app that wires them."""
