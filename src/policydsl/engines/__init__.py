"""The engines that evaluate a checked policy: the row evaluator (`row`) and the SQL compiler (`sql`).

`records` reads and validates inputs and writes outputs; `base` is the small interface everything above calls.
"""
