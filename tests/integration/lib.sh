# Shared helpers for integration tests: private Postfix, Sendmail, milter and
# sink on loopback, each started by the test and stopped by stop_all (trap).
# Recipes: shared/notes/mta-on-loopback.md.  Source it after setting T (an
# absolute temp dir) and the ports a test uses.
#
# Ports: milter tests use 25xx (Postfix 2525, sink 2526, Sendmail 2527,
# milter 2528); other suites use their own ranges.

BIN=$BUILD
[ "${BUILD#/}" = "$BUILD" ] && BIN=$TOP/$BUILD
SENDMAIL_ROOT=${SENDMAIL_ROOT:-/var/cache/bounceguard/sendmail/root}
PIDS=()

ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; }
check() { # check "description" command...
    local what=$1; shift
    if "$@"; then ok "$what"; else notok "$what"; fi
}

wait_port() { # wait_port PORT [seconds]
    local port=$1 n=$(( ${2:-15} * 10 ))
    while [ $n -gt 0 ]; do
        if (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then return 0; fi
        sleep 0.1; n=$((n - 1))
    done
    echo "# port $port did not open" >&2
    return 1
}

# port_is_free PORT: nothing listens on PORT (waiting a while for a process
# that is going away); says who holds it if something does.
port_is_free() {
    wait_port_free "$1" && return 0
    echo "# port $1 is held by: $(ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'users:.*')" >&2
    return 1
}

wait_port_free() {
    local port=$1 n=200
    while [ $n -gt 0 ]; do
        if ! (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then return 0; fi
        sleep 0.1; n=$((n - 1))
    done
    return 1
}

wait_for() { # wait_for SECONDS command... : poll until the command succeeds
    local n=$(( $1 * 10 )); shift
    while [ $n -gt 0 ]; do
        if "$@"; then return 0; fi
        sleep 0.1; n=$((n - 1))
    done
    return 1
}

# start_sink PORT [extra smtp-sink options]: a sink that accepts and counts.
# Each message is kept as a file under $T/sink, unless SINK_KEEP=no: then it
# is only counted (smtp-sink -c), for load tests whose tens of thousands of
# files would only fill the disk.
start_sink() {
    local port=$1; shift
    mkdir -p "$T/sink"
    chown postfix "$T/sink"
    if [ "${SINK_KEEP:-yes}" = no ]; then
        smtp-sink -u postfix -c "$@" 127.0.0.1:"$port" 256 > "$T/sink.log" 2>&1 &
    else
        smtp-sink -u postfix -R "$T/sink" -d "%Y%m%d%H/%M." "$@" 127.0.0.1:"$port" 256 \
            > "$T/sink.log" 2>&1 &
    fi
    PIDS+=($!)
    wait_port "$port"
}

# sink_count: messages the sink has received (-c prints "sess=N quit=N mesg=N\r")
sink_count() {
    if [ "${SINK_KEEP:-yes}" = no ]; then
        tr '\r' '\n' < "$T/sink.log" | sed -n 's/.*mesg=\([0-9]*\).*/\1/p' | tail -1 | grep . || echo 0
    else
        find "$T/sink" -type f 2>/dev/null | wc -l
    fi
}
# sink_said: what the sink said other than its counters
sink_said() { tr '\r' '\n' < "$T/sink.log" | grep -v -e '^sess=' -e '^[[:space:]]*$'; }
sink_at_least() { [ "$(sink_count)" -ge "$1" ]; }
sink_has() { grep -rlq -- "$1" "$T/sink" 2>/dev/null; }

# write_milter_conf FILE [key=value...]: a config for tests under $T.
write_milter_conf() {
    local f=$1; shift
    {
        echo "socket = inet:${MILTER_PORT}@127.0.0.1"
        echo "db_home = $T/db"
        echo "log_dir = $T/log"
        echo "syslog = no"
        echo "pid_file = $T/milter.pid"
        echo "user ="
        for kv in "$@"; do echo "${kv%%=*} = ${kv#*=}"; done
    } > "$f"
    mkdir -p "$T/log"
}

# start_milter CONF [WRAPPER...]: the milter in the foreground of a background
# job, run through WRAPPER (a command or function that execs its arguments)
start_milter() {
    local conf=$1; shift
    # A milter left over from another run would answer in ours' place.
    port_is_free "$MILTER_PORT" || return 1
    "$@" "$BIN/bounceguard-milter" -f -c "$conf" > "$T/milter.out" 2>&1 &
    MILTER_PID=$!
    PIDS+=($MILTER_PID)
    wait_port "$MILTER_PORT" && kill -0 "$MILTER_PID" 2>/dev/null
}

stop_milter() {
    if [ -n "${MILTER_PID:-}" ]; then
        kill "$MILTER_PID" 2>/dev/null
        local n=100
        while kill -0 "$MILTER_PID" 2>/dev/null && [ $n -gt 0 ]; do sleep 0.1; n=$((n-1)); done
        kill -9 "$MILTER_PID" 2>/dev/null
        wait "$MILTER_PID" 2>/dev/null
        MILTER_PID=
        wait_port_free "$MILTER_PORT"
    fi
}

# start_postfix SMTPD_PORT RELAY_PORT MILTER_SPEC: a private Postfix in $T/pf.
start_postfix() {
    local smtpd=$1 relay=$2 milter=$3 P=$T/pf
    mkdir -p "$P/etc" "$P/queue" "$P/data"
    chmod 755 "$T"
    # A Postfix installed with "No configuration" may have no master.cf yet.
    if [ -f /etc/postfix/master.cf ]; then cp /etc/postfix/master.cf "$P/etc/"
    else cp /usr/share/postfix/master.cf.dist "$P/etc/master.cf"; fi
    if [ -f /etc/postfix/dynamicmaps.cf ]; then cp /etc/postfix/dynamicmaps.cf "$P/etc/"
    else cp /usr/share/postfix/dynamicmaps.cf "$P/etc/"; fi
    [ -d /etc/postfix/dynamicmaps.cf.d ] && cp -r /etc/postfix/dynamicmaps.cf.d "$P/etc/"
    cat > "$P/etc/main.cf" <<EOC
compatibility_level = 3.6
queue_directory = $P/queue
data_directory = $P/data
maillog_file = $P/maillog
maillog_file_prefixes = $P
myhostname = relay.test.example
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:$relay
smtp_dns_support_level = disabled
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
alias_maps =
alias_database =
local_transport = error:no local delivery
smtpd_milters = $milter
milter_default_action = tempfail
milter_protocol = 6
milter_mail_macros = i {auth_type} {auth_authen} {auth_author} {mail_addr}
milter_end_of_data_macros = i
smtpd_client_connection_count_limit = 0
smtpd_client_message_rate_limit = 0
default_process_limit = 200
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 1000
smtpd_hard_error_limit = 1000
EOC
    # own port, no chroot, a postlog service for maillog_file
    sed -i -E "s/^smtp( +)inet/127.0.0.1:$smtpd\1inet/" "$P/etc/master.cf"
    awk 'BEGIN{OFS=" "} /^[a-z0-9.:]+ +(inet|unix|unix-dgram|fifo|pass) / && NF>=8 {$5="n"} {print}' \
        "$P/etc/master.cf" > "$P/etc/master.cf.new" && mv "$P/etc/master.cf.new" "$P/etc/master.cf"
    grep -q '^postlog' "$P/etc/master.cf" || \
        echo "postlog unix-dgram n - n - 1 postlogd" >> "$P/etc/master.cf"
    chown postfix "$P/data"
    postfix -c "$P/etc" check >/dev/null 2>&1
    if ! postfix -c "$P/etc" start >/dev/null 2>&1; then
        echo "# postfix did not start: $(tail -3 "$P/maillog" 2>/dev/null)" >&2
        return 1
    fi
    POSTFIX_ETC=$P/etc
    wait_port "$smtpd"
}

stop_postfix() {
    [ -n "${POSTFIX_ETC:-}" ] && postfix -c "$POSTFIX_ETC" stop >/dev/null 2>&1
    POSTFIX_ETC=
}

maillog() { cat "$T/pf/maillog" 2>/dev/null; }

# smtp PORT FROM TO [swaks options]: one SMTP transaction; prints the dialogue.
smtp() {
    local port=$1 from=$2 to=$3; shift 3
    swaks --server 127.0.0.1:"$port" --from "$from" --to "$to" --timeout 20 \
        --header "Subject: bounceguard test" "$@" 2>&1
}

# The reply to RCPT TO in a swaks dialogue (e.g. "550 5.7.1 Email ...").
# swaks marks replies "<-  " (success) or "<** " (failure).
rcpt_reply() { sed -n '/-> RCPT TO/{n;s/^ *<[-*]* *//;p;q}' <<<"$1"; }
mail_reply() { sed -n '/-> MAIL FROM/{n;s/^ *<[-*]* *//;p;q}' <<<"$1"; }

# start_sendmail SMTPD SINK MILTER_PORT [MC]: a private Sendmail (unpacked
# by scripts/install-deps) on 127.0.0.1:SMTPD with bounceguard-milter at
# MILTER_PORT, relaying everything to the sink; MC: more .mc lines to include.
# Its files go to $T; 1 (and a "not ok" line) when it cannot start.
start_sendmail() {
    local smtpd=$1 sink=$2 milter=$3 more=${4:-}
    local sm=$SENDMAIL_ROOT/usr/libexec/sendmail/sendmail cf=$SENDMAIL_ROOT/usr/share/sendmail/cf
    if [ ! -x "$sm" ]; then
        notok "private Sendmail unpacked at $SENDMAIL_ROOT (run scripts/install-deps)"
        return 1
    fi
    mkdir -p "$T/q" && chmod 700 "$T/q"
    cat > "$T/test.mc" <<EOC
include(\`$cf/m4/cf.m4')dnl
OSTYPE(\`linux')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`QUEUE_DIR', \`$T/q')dnl
define(\`confPID_FILE', \`$T/sendmail.pid')dnl
define(\`SMART_HOST', \`[127.0.0.1]')dnl
define(\`RELAY_MAILER_ARGS', \`TCP \$h $sink')dnl
define(\`ESMTP_MAILER_ARGS', \`TCP \$h $sink')dnl
define(\`confMILTER_MACROS_ENVFROM', \`i, {auth_authen}, {auth_type}')dnl
define(\`confMILTER_MACROS_EOM', \`i, {msg_id}')dnl
define(\`confTO_IDENT', \`0s')dnl
dnl A loaded test machine must not make Sendmail stop listening or queue
dnl instead of delivering (RefuseLA is 12 per CPU by default).
define(\`confREFUSE_LA', \`1000')dnl
define(\`confQUEUE_LA', \`1000')dnl
DAEMON_OPTIONS(\`Port=$smtpd, Addr=127.0.0.1, Name=MTA, Listen=256')dnl
INPUT_MAIL_FILTER(\`bounceguard', \`S=inet:$milter@127.0.0.1, F=T, T=S:10s;R:10s;E:1m')dnl
FEATURE(\`no_default_msa')dnl
FEATURE(\`accept_unresolvable_domains')dnl
FEATURE(\`promiscuous_relay')dnl
MAILER(\`smtp')dnl
EOC
    [ -n "$more" ] && echo "include(\`$more')dnl" >> "$T/test.mc"
    if ! m4 "$T/test.mc" > "$T/test.cf" 2> "$T/m4.err"; then
        notok "m4 built sendmail.cf: $(cat "$T/m4.err")"
        return 1
    fi
    unshare --uts sh -c "hostname smtest.example && exec $sm -bD -C $T/test.cf" \
        > "$T/sendmail.out" 2>&1 &
    SENDMAIL_PID=$!
    PIDS+=($SENDMAIL_PID)
    if ! wait_port "$smtpd" 60; then # it resolves its own name first: slow when loaded
        notok "sendmail started: $(cat "$T/sendmail.out")"
        return 1
    fi
}

# as_nobody COMMAND...: run COMMAND as nobody:nogroup, without root's groups.
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }

# open_bin: the programs copied into $T/bin (and $T opened to others), for
# what runs as another user (nobody, a pipe transport, a Sendmail mailer):
# the checkout itself may be closed to them (a clone in a mode 0700
# folder).  Sets OBIN.
open_bin() {
    OBIN=$T/bin
    if [ ! -x "$OBIN/bounceguard-dsn" ]; then
        mkdir -p "$OBIN"
        cp "$BIN/bounceguard" "$BIN/bounceguard-dsn" "$BIN/bounceguard-milter" "$OBIN/"
    fi
    chmod 755 "$T" "$OBIN" "$OBIN"/*
}

# postfix_verp_transport [MAIN.CF-LINE...]: the private Postfix of
# start_postfix routes $VERP_DOMAIN to bounceguard-dsn pipe (the transport of
# conf/postfix-master.cf with this test's $CONF and $T/reinject.sh), with
# the extra main.cf lines given, and is reloaded.
postfix_verp_transport() {
    local P=$T/pf/etc line
    open_bin
    {
        echo "relay_domains = $VERP_DOMAIN"
        echo "transport_maps = inline:{$VERP_DOMAIN=bounceguard:}"
        echo "bounceguard_destination_recipient_limit = 1"
        for line in "$@"; do echo "$line"; done
    } >> "$P/main.cf"
    cat >> "$P/master.cf" <<EOF
bounceguard unix - n n - - pipe
  flags=Rq user=nobody argv=$OBIN/bounceguard-dsn -c $CONF pipe
  --client-ip=\${client_address} --helo=\${client_helo} --sender=\${sender}
  --recipient=\${recipient} --reinject=$T/reinject.sh
EOF
    postfix -c "$P" reload >/dev/null 2>&1
    sleep 1
}

# verp_setup [key=value...]: store, logs and run dir under $T owned by
# nobody (the milter and the pipe run as nobody), a fresh secret in
# $T/verp.secret and a milter config $CONF with return_path_rewrite on for
# $VERP_DOMAIN (and the extra keys).
verp_setup() {
    chmod 755 "$T"
    mkdir -p "$T/db" "$T/log" "$T/run"
    chown nobody "$T/db" "$T/log" "$T/run"
    head -c 32 /dev/urandom | base64 > "$T/verp.secret"
    chown nobody "$T/verp.secret"
    chmod 600 "$T/verp.secret"
    CONF=$T/bg.conf
    write_milter_conf "$CONF" check_tld=no return_path_rewrite=yes verp_domain=$VERP_DOMAIN \
        verp_secret_file=$T/verp.secret "$@"
    sed -i "s|^user =.*|user = nobody|; s|^pid_file = .*|pid_file = $T/run/milter.pid|" "$CONF"
    chmod 644 "$CONF"
}

# verp_dsn TO RCPT MARKER ORIG_MSGID: a DSN as a remote server would send it
# back to the return path TO, for RCPT (User unknown), about the message
# ORIG_MSGID; MARKER is in its subject and text.
verp_dsn() {
    cat <<EOD
From: Mail Delivery System <MAILER-DAEMON@mx.remote.example.com>
To: $1
Subject: Undelivered Mail Returned to Sender $3
Message-ID: <dsn-$3@mx.remote.example.com>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B-$3"

--B-$3
Content-Type: text/plain

$3: your message could not be delivered to <$2>.

--B-$3
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.remote.example.com

Final-Recipient: rfc822; $2
Action: failed
Status: 5.1.1
Remote-MTA: dns; store.remote.example.com
Diagnostic-Code: smtp; 550 5.1.1 <$2>: Recipient address rejected: User unknown

--B-$3
Content-Type: text/rfc822-headers

From: app@customer.example
To: $2
Message-ID: <$4>

--B-$3--
EOD
}

# ---- Redis (store = redis) ------------------------------------------------
# Debian's redis-tools holds the server; redis-server (the package) only
# links to it, and would start a system daemon.  Started by the name it
# answers to.  need_redis: exits the test as skipped when there is none.
# The servers take the password $REDIS_PASS.
REDIS=$(command -v redis-server || command -v redis-check-rdb || true)
REDIS_PASS=${REDIS_PASS:-s3cret-test}
need_redis() {
    if [ -z "$REDIS" ] || ! command -v redis-cli > /dev/null; then
        echo "ok - # SKIP no Redis (redis-tools) installed"
        exit 0
    fi
}
rcli() { local p=$1; shift; redis-cli -p "$p" -a "$REDIS_PASS" --no-auth-warning "$@"; }
start_redis() { # start_redis PORT [redis options]: in the background, as a job
    local p=$1; shift
    mkdir -p "$T/r$p"
    (exec -a redis-server "$REDIS" --port "$p" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$T/r$p" --requirepass "$REDIS_PASS" --masterauth "$REDIS_PASS" "$@" \
        >> "$T/r$p/log" 2>&1) &
    PIDS+=($!)
    eval "REDIS_PID_$p=$!"
    wait_port "$p"
}
stop_redis() { local v="REDIS_PID_$1"; kill "${!v}" 2>/dev/null; wait "${!v}" 2>/dev/null; wait_port_free "$1"; }
# start_sentinel PORT PRIMARY_PORT QUORUM [NAME [SENTINEL_PASSWORD]]: a
# Sentinel watching the primary as NAME ("mymaster"; down after 1 s without
# an answer), asking its clients for SENTINEL_PASSWORD when given.
start_sentinel() {
    local name=${4:-mymaster}
    cat > "$T/s$1.conf" <<EOC
port $1
bind 127.0.0.1
dir $T
sentinel monitor $name 127.0.0.1 $2 $3
sentinel auth-pass $name $REDIS_PASS
sentinel down-after-milliseconds $name 1000
sentinel failover-timeout $name 10000
EOC
    [ -z "${5:-}" ] || echo "requirepass $5" >> "$T/s$1.conf"
    (exec -a redis-sentinel "$REDIS" "$T/s$1.conf" --sentinel > "$T/s$1.log" 2>&1) &
    PIDS+=($!)
    wait_port "$1"
}
# redis_conf FILE key=value...: a relay's config on a shared Redis store.
redis_conf() {
    local f=$1; shift
    {
        echo "db_home = $T/db-unused"
        echo "log_dir = $T/log"
        echo "syslog = no"
        echo "user ="
        echo "store = redis"
        echo "redis_password = $REDIS_PASS"
        echo "redis_timeout = 300"
        for kv in "$@"; do echo "${kv%%=*} = ${kv#*=}"; done
    } > "$f"
    mkdir -p "$T/log"
}

bg() { "$BIN/bounceguard" -c "$CONF" "$@"; }

stop_all() {
    stop_milter
    stop_postfix
    [ -n "${SENDMAIL_PID:-}" ] && kill "$SENDMAIL_PID" 2>/dev/null
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    sleep 0.2
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
}
