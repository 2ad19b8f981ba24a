"""The analyst dashboard (the QuickSight stand-in): a Streamlit app over the warehouse.

``dashboard/app.py`` is the script Streamlit runs (``fraudstack dashboard``); the modules
beside it keep the SQL (:mod:`.queries`), the filters every view shares (:mod:`.filters`),
the charts (:mod:`.charts`) and one module per view (:mod:`.views`) apart.
"""
