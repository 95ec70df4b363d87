"""Polyflow: multi-tenant ERP for plastic converters (one PostgreSQL database per tenant)."""

__version__ = "0.1.0"
