"""makemore as a library: names -> splits -> context windows -> models -> metrics.

Modules follow the pipeline's order: ``fetch``, ``names``, ``vocab``, ``split``,
``windows``, ``models``, ``train``, ``checkpoint``, ``evaluate``, ``sample``;
``params`` checks params.yaml and ``files`` writes every output atomically.
"""
