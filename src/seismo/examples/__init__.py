"""Real example data sets and scenarios for demos, docs and tests."""

from seismo.examples.flights import flights, flights_schema
from seismo.examples.scenarios import breast_cancer_scenario

__all__ = ["breast_cancer_scenario", "flights", "flights_schema"]
