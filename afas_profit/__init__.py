"""afas_profit: Singer-free knowledge of the AFAS Profit REST protocol, shared by tap and target.

Nothing in this package imports ``singer_sdk``: it is plain Python over plain dicts, so both
plugins use it and it is unit-tested on its own.
"""
