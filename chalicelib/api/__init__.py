"""HTTP layer: one blueprint per resource, all routes declared through `framework.operation`."""
