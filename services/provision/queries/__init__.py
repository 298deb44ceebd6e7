"""Scoped reads and views of the provision service, by aggregate: `scope` (what a
principal may see and write), `catalogue` (entries, settings, recommendations),
`calendar` (school days), `assignments`, `targets` (and outcomes), `cycles` (APDR,
reviews due), `reports` (the per-pupil cost arithmetic's inputs), `costs`, `impact`
and `maps` (a pupil's map; the class / year-group map)."""
