package main

// The help texts. Lines stay under 77 columns: cli indents them by three.

const appUsage = "[--url URL] [--token-file PATH] [--json] [--timeout DURATION] <command> [arguments...]"

const appDescription = `Mantrid is an HTTP load balancer. For each hostname it has a rule that says
what to do with that host's requests: forward them to backends (proxy),
hold them while the backends restart (spin), redirect them, or answer
with a status code or a static page. mantrid-client reads and changes
those rules, and shows request and byte counts per hostname, through
Mantrid's REST API.

The API is at --url, else $MANTRID_URL, else http://localhost:8042; a
Unix socket is given as unix:PATH (--url unix:/run/mantrid/api.sock).
When Mantrid has a management_token_file, every command needs its token:
--token-file PATH reads it from a file, else $MANTRID_TOKEN holds it;
it is sent as "Authorization: Bearer TOKEN".

A rule is: <hostname> <action> <subdoms> [option=value ...]
  proxy      backends=HOST:PORT[,HOST:PORT...] (required), attempts=N,
             delay=SECONDS
  empty      code=NNN (required)
  static     type=NAME (required)
  redirect   redirect_to=URL (required)
  spin       timeout=SECONDS, check_interval=SECONDS
  no_hosts, unknown   no options
Run 'mantrid-client help set' for what each one does.

Examples:
  mantrid-client list
  mantrid-client set top-secret.com empty true code=403
  mantrid-client set ep.io proxy true backends=10.0.0.2:8000,10.0.0.3:8000 attempts=3
  mantrid-client set ep.io spin true       (hold requests while restarting)
  mantrid-client delete top-secret.com
  mantrid-client stats ep.io
  mantrid-client stats --fleet      (summed over every node of the fleet)
  mantrid-client nodes              (the fleet's live nodes)
  mantrid-client export > state.json
  mantrid-client --url http://10.0.0.1:8042 import state.json
  mantrid-client --url unix:/run/mantrid/api.sock list
  mantrid-client --token-file /etc/mantrid/api.token stats

Output: tables and text on stdout, or JSON with --json; messages and
errors on stderr. Options may come before or right after the command.
Exit status: 0 success; 1 the server refused (its error code is printed,
e.g. "mantrid-client: host_option_invalid: code: ..."), could not be
reached, or a file could not be read, or stats --fleet left out a node
that did not answer; 2 wrong command line.`

const listHelp = `Prints one line per rule, sorted by hostname, as the first Mantrid did:

HOST                                ACTION                    SUBDOMS
ep.io                               proxy<10.0.0.2:8000>      True
http://ep.io                        redirect<https://ep.io>   True
top-secret.com                      empty<403>                True

ACTION shows the action with its main option: proxy<HOST:PORT,...>,
static<TYPE>, redirect<URL>, empty<CODE>, or the bare action name (spin,
no_hosts, unknown). SUBDOMS says whether the rule also matches the
hostname's subdomains.

With --json it prints the rules as one JSON object instead, like export.`

const setHelp = `Sets the rule of <hostname>, replacing any rule it had. The change applies
to the next request. Arguments:

  <hostname>  the host the rule is for, e.g. ep.io. Write http://ep.io or
              https://ep.io for a rule that applies to that protocol only:
              with rules for http://ep.io (redirect) and ep.io (proxy),
              http requests are redirected and https ones proxied.
  <action>    what to do with the host's requests; see below.
  <subdoms>   true or false: whether the rule also applies to subdomains
              (www.ep.io, a.b.ep.io) that have no rule of their own.
  option=value  the action's options:

  proxy     forward each request to one of the backends, chosen at random
              backends=HOST:PORT[,HOST:PORT...]  required; IPv6: [ADDR]:PORT
              attempts=N       tries to connect before giving up (default 1)
              delay=SECONDS    wait between tries (default 1; 0.5 allowed)
  empty     answer with a status code and an empty body
              code=NNN         required, 100 to 599
  static    answer with the static response file NAME.http
              type=NAME        required, e.g. type=test
  redirect  answer 302 Found to redirect_to plus the request's path
              redirect_to=URL  required; without http:// or https://, the
                               request's own protocol is used
  spin      hold requests open until the rule changes to another action,
            then hand them to it (set spin, restart backends, set proxy)
              timeout=SECONDS  give up after this long (default 120)
              check_interval=SECONDS  how often to check (default 1)
  no_hosts  answer with Mantrid's built-in "no hosts" page; no options
  unknown   answer with Mantrid's built-in "unknown host" page; no options

The required option is checked before sending; the server checks the
rest and answers with an error code when something is wrong.
With --json it prints {"ok":true} on success.

Examples:
  mantrid-client set top-secret.com empty true code=403
  mantrid-client set ep.io proxy true backends=10.0.0.2:8000,10.0.0.3:8000 attempts=3
  mantrid-client set ep.io proxy false backends=[fd00::2]:8000 delay=0.5
  mantrid-client set http://ep.io redirect true redirect_to=https://ep.io
  mantrid-client set old.ep.io redirect false redirect_to=ep.io
  mantrid-client set maintenance.ep.io static true type=test
  mantrid-client set ep.io spin true timeout=300`

const getHelp = `Prints the rule of <hostname> as JSON, [action, options, subdomains],
or null when it has none. <hostname> may be protocol-qualified
(http://ep.io).

Example:
  $ mantrid-client get top-secret.com
  ["empty",{"code":403},true]`

const deleteHelp = `Deletes the rule of <hostname> (write http://ep.io for a protocol-qualified
rule) and the statistics counted for it. With --json it prints
{"ok":true} on success.

Example:
  mantrid-client delete top-secret.com`

const statsHelp = `Prints the counters of every hostname, or of [hostname] alone, sorted by
hostname, as the first Mantrid did:

HOST                                OPEN        COMPLETED   BYTES IN    BYTES OUT
ep.io                               2           1042        230112      9120334

OPEN        requests in progress now
COMPLETED   requests answered since the rule was set
BYTES IN    bytes received from clients
BYTES OUT   bytes sent to clients

Requests that matched no rule are counted under "unknown". A hostname
without counters prints no row. With --json it prints the API's JSON:
{host: counters} for all, or the host's counters ({} when none).

With --fleet the counters are summed over every live node of the fleet
(the nodes sharing the rules through etcd; see 'mantrid-client help
nodes'), as the node at --url fetches them from the others. A node that
does not answer within 2 s is left out of the sum and named on stderr
("mantrid-client: the sum leaves out 1 node that did not answer: c
(http://10.0.0.3:8042): ..."); the table is still printed and the exit
status is 1. With --json it prints {"stats": ..., "nodes": [names summed],
"missing": [{"node", "url", "error"}]}.

Examples:
  mantrid-client stats ep.io
  mantrid-client stats --fleet
  mantrid-client stats --fleet --json ep.io`

const nodesHelp = `Lists the live nodes of the fleet: the Mantrids that share their rules
through etcd and hold a lease on their key in it. A node that stopped
cleanly leaves the list at once; one that died leaves it when its lease
runs out (10 s). A Mantrid without etcd lists itself alone.

NAME                 URL                            STARTED              REVISION   SELF
lb1                  http://10.0.0.1:8042           2026-01-02T03:04:05Z 1042       yes
lb2                  http://10.0.0.2:8042           2026-01-02T03:05:00Z 1042       no

NAME      the node's node_name
URL       where its REST API is reached by the other nodes
STARTED   when it started, in UTC
REVISION  the revision of the rules it has applied: equal on every
          node once a change has reached them all
SELF      yes for the node at --url, which answered

With --json it prints the API's JSON: {"nodes": [{"name", "url",
"started", "revision", "self"}, ...]}.`

const exportHelp = `Prints every rule and every host's counters in the first Mantrid's state
file format, {"hosts": {"hostname": [action, options, subdomains], ...},
"stats": {"hostname": {counters}, ...}}, sorted by hostname, one entry per
line: a backup that import restores, that diffs well, and that the first
Mantrid loads as its state file.

Example:
  mantrid-client export > state.json`

const importHelp = `Replaces every rule with those in FILE (or standard input, for -): a state
file as export writes it (or as the first Mantrid saved it), whose
counters then replace every host's too; or a bare JSON object of rules,
{"hostname": [action, options, subdomains], ...}, which keeps the counters
of hosts that stay. Rules not in the file are deleted. The server applies
all the rules or, when one is wrong, none: it then answers with the error
code and the hostname at fault, and the old rules stay.

Before sending, the file is checked to be one JSON object of rules (or of
"hosts" and "stats"), with no hostname twice, so that a wrong file does
not replace the rules. An empty object would delete every rule: it is
refused unless --allow-empty is given. Prints how many rules were imported
({"ok":true} with --json).

Examples:
  mantrid-client import state.json
  ssh lb1 mantrid-client export | mantrid-client import -`
