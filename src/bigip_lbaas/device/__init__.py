"""The I/O shell around the engine: talk iControl REST to BIG-IP devices.

``client`` (HTTP, auth, retries, transactions), ``errors`` (foreign → our exceptions),
``observe``/``apply``/``converge`` (one partition onto one device), ``status`` (operating status and
stats), ``cluster`` (HA checks).
"""
