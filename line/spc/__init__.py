"""Statistical process control: control-chart constants, Phase-I limits from a frozen baseline,
and the Western Electric run rules — plain arithmetic on the ledger's values, no I/O here."""
