"""Demo plants for `polyflow dev`: data in data.py, seeding through the ERP services in seed.py."""

from polyflow.erp.demo.data import DEMO_TENANTS, HISTORY_DAYS, PLANTS
from polyflow.erp.demo.seed import seed_tenant

__all__ = ["DEMO_TENANTS", "HISTORY_DAYS", "PLANTS", "seed_tenant"]
