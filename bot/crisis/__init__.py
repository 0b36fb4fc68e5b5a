"""Crisis detection and escalation: the pure core. Nothing here touches Redis, RQ, SQL or a platform;
state is small JSON that the worker stores (one key per scope, one per incident's escalation).

Per event, in the worker:

    facts = facts_from_verdict(event, verdict)             # or facts_without_rulebook(event)
    keys = engine.scopes(facts)                            # engine = SignalEngine(config.detection)
    signals, states = engine.observe(facts, {k: ScopeState.from_json(...) for k in keys})
    decisions = decide(signals, open_incidents, config.detection)   # incidents.py: open / join

Per incident, from the scheduler (escalation.py):

    state = start(config.policy_for(incident.scope, incident.severity), incident.id, now)
    notifications, wake_at, state = advance(policy, state, now, counts)

Modules: spike (the detector), signals, incidents, policy (YAML schema), escalation (step engine),
replay and cli (`vigie crisis replay`).
"""
