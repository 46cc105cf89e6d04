"""冷链: cold-chain excursion rules, and what a temperature series says against them.

The rules are data (``core/data/coldchain_rules.toml``), per product class and versioned by
effective date: a storage range, single-continuous limits (a WHO 30-day recorder's freeze and
heat alarms) and cumulative limits (a WHO shipping indicator's "30 °C or above for 10 h in
all"). Both kinds are evaluated: a device that alarms only on one continuous excursion misses
several short freezes that add up (DOMAIN.md §7, §10).

- :mod:`.rules`: the rule book, its rule sets and rules, and the tiers (预警分级);
- :mod:`.readings`: a series of readings and the checks it must pass before it is believed;
- :mod:`.excursions`: what a series says against a rule set (温度超标);
- :mod:`.logger_csv`: a logger's CSV read into a series;
- :mod:`.decisions`: what a receipt does with the journey's temperature record, and a
  person's decision on an excursion.
"""
