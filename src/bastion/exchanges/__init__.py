"""Hash exchanges: hash lists pulled from outside (NCMEC hash sharing, URL lists) into banks.

An exchange is a configured source (`models.Exchange`) with encrypted credentials
(`sealing`), the banks its content feeds, a fetch schedule and a checkpoint. Fetching
(`fetch`) drives python-threatexchange's `SignalExchangeAPI` for the exchange's type
(`types`, `urllist`, `ncmec_hashes`), writes each page's changes (`apply`) and the
checkpoint in one transaction, and keeps each item's provenance (`models.ExchangeItem`).
`service` is what people and the API do to exchanges; `tasks` runs fetches from timer rows
(`timing`); `policy` is the SSRF guard's policy for them.
"""
