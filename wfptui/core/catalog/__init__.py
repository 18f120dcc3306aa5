"""The static WFP catalogue's data: record types and the generated tables.

``layer_table.py`` and ``field_table.py`` are whole modules written by
``tools/gen_catalog.py`` (do not edit them by hand); ``records.py`` is hand-written and holds
the record types they are built from. Look things up through ``wfptui.core.layers`` and
``wfptui.core.fields``, which import these tables.
"""
