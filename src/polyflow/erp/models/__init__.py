"""Tenant-database tables, one module per aggregate. Importing this package registers them all."""

from polyflow.erp.models.location import Location
from polyflow.erp.models.product import Product
from polyflow.erp.models.unit import Unit
from polyflow.erp.models.user import User

__all__ = ["Location", "Product", "Unit", "User"]
