"""The ``tether`` command: calls domain services through the container, never repositories."""
