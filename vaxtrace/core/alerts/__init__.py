"""告警: what the supervision system raises from a finding, and how it lives.

- :mod:`.states`: an alert's states (open → acknowledged → resolved) and the moves allowed;
- :mod:`.escalation`: the tiers an unhandled alert climbs (county → city → province →
  national) and when it is due to climb;
- :mod:`.excursions`: a province's cold-chain excursion (温度超标, step 931) as a finding, its
  severity the tier the province's rule book gave it (:mod:`vaxtrace.core.coldchain.rules`).
"""
