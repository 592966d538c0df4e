"""Hash exchanges: hash lists pulled from outside (NCMEC hash sharing, URL lists) into banks.

An exchange is a configured source (`models.Exchange`) with encrypted credentials
(`secrets`), the banks its content feeds, a fetch schedule and a checkpoint. Fetching
(`fetch`) drives python-threatexchange's `SignalExchangeAPI` for the exchange's type
(`types`, `urllist`), writes each page's changes and the checkpoint in one transaction,
and keeps each item's provenance (`models.ExchangeItem`). `service` is what people and
the API do to exchanges; `tasks` runs fetches from timer rows.
"""
