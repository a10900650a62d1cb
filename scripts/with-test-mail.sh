#!/usr/bin/env bash
# Runs a command with a private, throw-away mail system on free 127.0.0.1 ports:
#   scripts/with-test-mail.sh cargo test -p switchboard-mail
# Postfix (its own config, queue and data folders; no system instance is touched) takes
# submissions on STARTTLS and implicit-TLS ports, authenticating through Dovecot, and delivers
# over LMTP into Dovecot Maildirs served over IMAPS. A certificate authority and a server
# certificate are made at start. Unknown users of the domain, any other domain and the "soft"
# domain are accepted and then fail, so the sender gets a real delivery-status notification
# (hard: 5.x.x; the soft domain: 4.x.x, returned after its one attempt); refused@ the domain is
# refused at RCPT time.
# The command sees SWITCHBOARD_TEST_MAIL_* (host, ports, CA file, the rep's and the lead's
# addresses and passwords, log files); everything is stopped and deleted on every exit.
set -euo pipefail

[ "$#" -gt 0 ] || { echo "usage: $0 COMMAND [ARGS…]" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "with-test-mail: run as root (Postfix and Dovecot switch users)" >&2; exit 1; }
for tool in postfix dovecot openssl; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] \
    || { echo "with-test-mail: $tool not found (scripts/install-deps.sh installs it)" >&2; exit 1; }
done
export PATH="$PATH:/usr/sbin"

DIR="$(mktemp -d /tmp/switchboard-mail.XXXXXX)"
chmod 755 "$DIR"
NAME="sbmail-$(basename "$DIR" | cut -d. -f2)"
PF="$DIR/postfix"
DC="$DIR/dovecot"

stop_mail() {
  local status=$?
  if [ -f "$PF/spool/pid/master.pid" ]; then
    postfix -c "$PF/etc" stop >/dev/null 2>&1 || true
  fi
  if [ -f "$DC/run/master.pid" ]; then
    local pid
    pid="$(cat "$DC/run/master.pid")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$DIR"
  exit "$status"
}
trap stop_mail EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Five distinct free ports, all held open at once while chosen.
read -r SUBMIT SUBMITS IMAPS LMTP AUTH < <(node -e '
  const net = require("net"); const servers = [];
  const next = () => { if (servers.length === 5) { console.log(servers.map(s => s.address().port).join(" ")); servers.forEach(s => s.close()); return; }
    const s = net.createServer(); servers.push(s); s.listen(0, "127.0.0.1", next); };
  next();')

DOMAIN="example.test"
SOFT_DOMAIN="soft.example.test"
REP="rep@$DOMAIN"
LEAD="lead@$DOMAIN"
REP_PASSWORD="rep-$(openssl rand -hex 8)"
LEAD_PASSWORD="lead-$(openssl rand -hex 8)"

# A private CA and a server certificate for 127.0.0.1 / localhost signed by it (rustls refuses a
# self-signed CA certificate presented as the server's own).
mkdir -p "$DIR/tls"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Switchboard test mail CA" \
  -keyout "$DIR/tls/ca.key" -out "$DIR/tls/ca.pem" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
  >"$DIR/tls/openssl.log" 2>&1
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
  -keyout "$DIR/tls/server.key" -out "$DIR/tls/server.csr" >>"$DIR/tls/openssl.log" 2>&1
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:mail.%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
  "$DOMAIN" >"$DIR/tls/ext.cnf"
openssl x509 -req -in "$DIR/tls/server.csr" -CA "$DIR/tls/ca.pem" -CAkey "$DIR/tls/ca.key" \
  -CAcreateserial -days 2 -extfile "$DIR/tls/ext.cnf" -out "$DIR/tls/server.pem" \
  >>"$DIR/tls/openssl.log" 2>&1
chmod 644 "$DIR/tls/server.pem" "$DIR/tls/ca.pem"

# ---- Dovecot: users, IMAPS, LMTP and the SASL service Postfix asks.
mkdir -p "$DC/run" "$DC/state"
install -d -o mail -g mail "$DIR/mail"
MAIL_UID="$(id -u mail)"
MAIL_GID="$(id -g mail)"
{
  printf '%s:{PLAIN}%s:%s:%s::%s::\n' "$REP" "$REP_PASSWORD" "$MAIL_UID" "$MAIL_GID" "$DIR/mail/$REP"
  printf '%s:{PLAIN}%s:%s:%s::%s::\n' "$LEAD" "$LEAD_PASSWORD" "$MAIL_UID" "$MAIL_GID" "$DIR/mail/$LEAD"
} >"$DC/users"
chown root:dovecot "$DC/users"
chmod 640 "$DC/users"
cat >"$DC/dovecot.conf" <<EOF
instance_name = $NAME
base_dir = $DC/run
state_dir = $DC/state
log_path = $DIR/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
ssl = required
ssl_cert = <$DIR/tls/server.pem
ssl_key = <$DIR/tls/server.key
ssl_min_protocol = TLSv1.2
auth_mechanisms = plain login
disable_plaintext_auth = yes
first_valid_uid = $MAIL_UID
mail_location = maildir:~/Maildir
default_internal_user = dovecot
default_login_user = dovenull
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $DC/users
}
userdb {
  driver = passwd-file
  args = username_format=%u $DC/users
}
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAPS
    ssl = yes
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $LMTP
  }
}
service auth {
  inet_listener sasl {
    address = 127.0.0.1
    port = $AUTH
  }
}
protocol lmtp {
  postmaster_address = postmaster@$DOMAIN
}
EOF
dovecot -c "$DC/dovecot.conf" \
  || { cat "$DIR/dovecot.log" >&2 || true; echo "with-test-mail: Dovecot did not start" >&2; exit 1; }

# ---- Postfix: a private instance (own config, queue and data folders).
mkdir -p "$PF/etc" "$PF/spool"
install -d -o postfix "$PF/data"
cat >"$PF/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $PF/spool
data_directory = $PF/data
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
syslog_name = $NAME
maillog_file = $DIR/postfix.log
maillog_file_prefixes = $DIR
myhostname = mail.$DOMAIN
mydomain = $DOMAIN
myorigin = $DOMAIN
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.1/32
alias_maps =
alias_database =
local_recipient_maps =
biff = no
relayhost =
virtual_mailbox_domains = $DOMAIN
virtual_transport = lmtp:inet:127.0.0.1:$LMTP
smtpd_reject_unlisted_recipient = no
transport_maps = inline:{ { $SOFT_DOMAIN = retry:4.2.2 the test mailbox is full } }
default_transport = error:5.1.2 no mail leaves the test mail system
maximal_queue_lifetime = 0
bounce_queue_lifetime = 0
smtpd_tls_cert_file = $DIR/tls/server.pem
smtpd_tls_key_file = $DIR/tls/server.key
smtpd_tls_security_level = may
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:127.0.0.1:$AUTH
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_recipient_restrictions =
  check_recipient_access inline:{ { refused@$DOMAIN = 550 5.1.1 this address is refused by the test server } }
  permit_sasl_authenticated, reject
EOF
cat >"$PF/etc/master.cf" <<EOF
127.0.0.1:$SUBMIT inet n - n - - smtpd
  -o syslog_name=$NAME/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_tls_auth_only=yes
127.0.0.1:$SUBMITS inet n - n - - smtpd
  -o syslog_name=$NAME/submissions
  -o smtpd_tls_wrappermode=yes
  -o smtpd_sasl_auth_enable=yes
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
lmtp      unix  - - n - - lmtp
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF
postfix -c "$PF/etc" start >"$DIR/postfix-start.log" 2>&1 \
  || { cat "$DIR/postfix-start.log" "$DIR/postfix.log" >&2 || true; echo "with-test-mail: Postfix did not start" >&2; exit 1; }

# Both must answer before the command starts.
for port in "$SUBMIT" "$SUBMITS" "$IMAPS"; do
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
done

# What the command sees, each as SWITCHBOARD_TEST_MAIL_<NAME>.
while IFS='=' read -r name value; do
  export "SWITCHBOARD_TEST_MAIL_$name=$value"
done <<EOF
HOST=127.0.0.1
SUBMISSION_PORT=$SUBMIT
SUBMISSIONS_PORT=$SUBMITS
IMAPS_PORT=$IMAPS
CA=$DIR/tls/ca.pem
DOMAIN=$DOMAIN
SOFT_DOMAIN=$SOFT_DOMAIN
REFUSED=refused@$DOMAIN
REP=$REP
REP_PASSWORD=$REP_PASSWORD
LEAD=$LEAD
LEAD_PASSWORD=$LEAD_PASSWORD
LOG=$DIR/postfix.log
DOVECOT_LOG=$DIR/dovecot.log
EOF
echo "==> test mail system: submission $SUBMIT (STARTTLS), $SUBMITS (TLS), IMAPS $IMAPS; users $REP, $LEAD"
"$@"
