-- wrk script: OPTIONS (CORS preflight) on the target URL. sluiced answers a preflight with 204
-- before routing, so this measures the HTTP stack alone (accept/read/parse/write), with no
-- handler, no registry and no JSON: a floor for the other figures. Used by bench/registry_bench.sh.
wrk.method = "OPTIONS"
