"""The service's routes, one module per resource; each route declares the scope it needs."""
