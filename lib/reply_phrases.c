/*
 * reply_phrases.c — the classifier's phrase tables: which reason a remote
 * server's text names, tried in a fixed order (specific before generic).
 * Used by lib/reply.c; see lib/reply_phrases.h.
 *
 * Rules added for accuracy on bounces in general, and why (each would hold
 * on another bounce of the same MTA or provider; the rules keyed on a
 * provider's codes or formats are listed in lib/reply_vendor.c, the ones on
 * the SMTP command in lib/reply.c):
 *   "<host.name> does not exist"   a host, not a mailbox -> hostunknown
 *                                  (rejected at MAIL FROM: the sender's)
 *   "malformed address"            syntaxerror; networkerror keeps only
 *                                  "malformed ... name server reply"
 *   "unverif(y|i)able sending ip", "mismatches client ip"
 *                                  the relay's name/IP check -> requireptr
 *   "could not find a gateway for", "host not reachable", "server did not
 *   respond", "message timed out"  given up after retrying -> expired
 *                                  (X3, Zoho and Sisimai's Expired list)
 *   "did not accept our requests to connect"
 *                                  Gmail's notice after failing to connect
 *                                  until it gave up -> expired
 *   "recipients was rejected by a remote mail server"
 *                                  au EZweb's notice for its domain
 *                                  filter -> filtered
 *   an unknown, full or closed mailbox in German, French, Italian,
 *   Spanish, Portuguese, Polish, Czech, Dutch, Russian, Chinese, Japanese
 *   and Korean ("postfach nicht vorhanden", "n'existe pas", "nie
 *   istnieje", ...): as "does not exist", they name the recipient only at
 *   RCPT TO or with a x.1.x status (lib/reply.c)
 *   "blocked due to inactivity"    a mailbox closed for lack of use ->
 *                                  suspend, before "blocked" (the relay)
 *   "sending account", "mail sending denied"
 *                                  the sender's own account, suspended or
 *                                  refused -> rejected, before suspend
 *   "content restriction", "unacceptable content"
 *                                  the message, not the relay (which a
 *                                  bare x.7.1 would otherwise name)
 *   "not permitted by spf", "spf policy"
 *                                  the sender's SPF, not a policy refusal
 *   address local parts are masked before matching, so that a mailbox
 *   named "filtered@" or "spam@" is not read as the server's words
 *   "sender <a@b> black listed", "denies the sender", "sender is on"
 *                                  the sender's address is what a list
 *                                  holds -> rejected, before "black list"
 *   "spam source", "black ip"      the relay as a spam source (Symantec,
 *                                  Coremail) -> badreputation, blocked
 *   "banned content"               the message (Symantec), not the relay
 *   "user is locked", "user is inactive"
 *                                  Coremail's, GMX's closed mailbox ->
 *                                  suspend
 */
#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounceguard/util.h"
#include "reply_phrases.h"

/* ---- phrases ---------------------------------------------------------- */

typedef struct phrase_table {
    const char *reason;
    const char *const *phrases; /* lower case, matched as substrings */
} phrase_table;

static const char *const p_authfailure[] = {
    "dmarc",
    "spf check",
    "spf fail",
    "spf (sender policy framework)",
    "sender policy framework",
    "dkim",
    "spf record",
    "failed spf",
    "spf validation",
    "-all",
    "authentication failed; spf",
    "is not allowed to send mail from",
    "not designated as permitted sender",
    "sender is not authorized by",
    "domain authentication fail",
    "unauthenticated email",
    "sender domain has a",
    "does not pass authentication",
    "spf)",
    "not permitted by spf",
    "rejected by spf",
    "spf policy",
    "spf violation",
    "spf authentication",
    NULL,
};
static const char *const p_requireptr[] = {
    "unverifyable sending ip",
    "unverifiable sending ip",
    "mismatches client ip",
    "cannot find your hostname",
    "cannot find your reverse hostname",
    "reverse dns",
    "reverse lookup",
    "no ptr",
    "ptr record",
    "ptr-record",
    "rdns",
    "reverse hostname",
    "ip name lookup failed",
    "hostname lookup failed",
    "reverse address",
    "does not have a reverse",
    "no reverse",
    "reverse-dns",
    "dns ptr",
    "generic dns ptr",
    "is not resolvable",
    "forward dns entry does not point",
    "client host rejected: cannot find",
    "unresolvable relay host name",
    "hostname does not resolve",
    "reverse mapping",
    NULL,
};
static const char *const p_notcompliantrfc[] = {
    "rfc 5322",
    "rfc5322",
    "rfc 2822",
    "rfc2822",
    "rfc 822",
    "rfcmessagenoncompliant",
    "multiple addresses in from",
    "multiple from headers",
    "duplicate header",
    "not compliant with",
    "non-compliant",
    NULL,
};
static const char *const p_virusdetected[] = {
    "virus",  "malware", "infected", "executable attachment", "potentially executable",
    "trojan", NULL,
};
/* A refusal to relay that asks the client to authenticate ("turn on SMTP
 * Authentication ... not permitted to relay through this server without
 * authentication") is about its authentication, not a closed relay. */
static const char *const p_securityerror_early[] = {
    "turn on smtp auth",
    "without authentication",
    NULL,
};
static const char *const p_norelaying[] = {
    "not configured to relay",
    "relay mail",
    "relay access denied",
    "relaying denied",
    "relay denied",
    "relay not permitted",
    "not permitted to relay",
    "no relaying",
    "unable to relay",
    "relaying not allowed",
    "relaying mail to",
    "does not relay",
    "not an open relay",
    "not allowed to relay",
    "as a relay",
    "relay prohibited",
    "we do not relay",
    "relay not allowed",
    "insecure mail relay",
    "not a gateway",
    "denies relay",
    NULL,
};
static const char *const p_failedstarttls[] = {
    "starttls is required", "must issue a starttls",  "tls required",
    "requires tls",         "encryption required",    "tls is required",
    "starttls failed",      "tls negotiation failed", NULL,
};
static const char *const p_mailboxfull[] = {
    "mailbox full",
    "mailbox is full",
    "mailbox quota",
    "over quota",
    "overquota",
    "quota exceeded",
    "exceeded quota",
    "exceeds quota",
    "exceeded storage",
    "exceeding its mailbox quota",
    "exceeding their quota",
    "disk quota",
    "diskspace quota",
    "insufficient storage",
    "not enough storage",
    "not enough disk space",
    "not sufficient disk space",
    "no space left",
    "mailfolder is full",
    "mailbox size limit exceeded",
    "mailbox exceeded",
    "has exceeded its",
    "full mailbox",
    "inbox is full",
    "boite du destinataire pleine",
    /* German, French, Russian (both cases: only ASCII is folded), Chinese */
    "postfach voll",
    "postfach ist voll",
    "boite aux lettres pleine",
    "boîte aux lettres pleine",
    "boîte pleine",
    "ящик переполнен",
    "Ящик переполнен",
    "превышен размер ящика",
    "邮箱已满",
    "邮箱空间不足",
    "speicherplatz",
    "boîte aux lettres est pleine",
    "casella piena",
    "buzón lleno",
    "caixa postal cheia",
    "skrzynka jest pełna",
    "schránka je plná",
    "the user's space has been used up",
    "user has too many messages",
    "mailbox would exceed",
    "quota violation",
    "user over limit",
    "is over the quota",
    "over the allowed quota",
    "reached disk quota",
    "storage quota",
    "exceeded the quota",
    "quota has been exceeded",
    "too much mail data",
    "mail quota",
    "quota full",
    "mailbox has reached",
    "quota limit",
    "mailbox is over",
    "mailbox exceeds",
    "account is full",
    "account is over",
    "out of storage",
    "space has been used up",
    "exceed the quota",
    "is full",
    NULL,
};
static const char *const p_mesgtoobig[] = {
    "line limit exceeded",
    "message too big",
    "message too large",
    "message is too large",
    "message is too big",
    "message size exceeds",
    "message length exceeds",
    "exceeds the maximum size",
    "exceeded maximum inbound message size",
    "max message size",
    "message file too big",
    "size limit exceeded",
    "message size limit",
    "taille limite du message",
    "mail size limit",
    "exceeds size limit",
    "size exceeds",
    "message exceeds",
    "too big for",
    NULL,
};
static const char *const p_exceedlimit[] = {
    "message header size exceeds limit",
    "recipient limit",
    "message header size",
    NULL,
};
/* The sender's own account, suspended or refused ("Mail sending denied.
 * This account is suspended", Gmail's relay "The sending email account has
 * been temporarily suspended"), or its domain's DNS, which the receiving
 * server checks for the sender's domain, never its own (GMX's "550-Requested
 * action not taken: mailbox unavailable 550 invalid DNS MX or A/AAAA resource
 * record"): before the recipient's closed account. */
static const char *const p_rejected_early[] = {
    "invalid dns mx",        "mx or a/aaaa",   "sending account",
    "sending email account", "sender account", "sender's account",
    "mail sending denied",   "sending denied", NULL,
};
static const char *const p_suspend[] = {
    "mailbox is no longer active",
    "account is no longer active",
    "account is blocked",
    "compte du destinataire est bloque",
    "account disabled",
    "account has been disabled",
    "account is disabled",
    "account has been suspended",
    "account is suspended",
    "account suspended",
    "mailbox disabled",
    "mailbox is disabled",
    "mailbox currently suspended",
    "mailbox has been disabled",
    "mailbox is frozen",
    "account not activated",
    "account is locked",
    /* Coremail ("550 user is locked."), GMX ("User is inactive") */
    "user is locked",
    "user is inactive",
    "account has been locked",
    "account deactivated",
    "account is inactive",
    "account inactive",
    "mailbox is inactive",
    "user suspended",
    "recipient suspend",
    "temporarily inactive",
    "has been disabled",
    "is disabled",
    "has been suspended",
    "is suspended",
    "account expired",
    "account is not active",
    "not active",
    "discontinued",
    "deactivated",
    /* a mailbox closed for lack of use, whatever the verb ("blocked") */
    "blocked due to inactivity",
    "disabled due to inactivity",
    "locked due to inactivity",
    "suspended due to inactivity",
    "postfach gesperrt",
    "konto gesperrt",
    "compte désactivé",
    "compte desactive",
    "boîte aux lettres désactivée",
    NULL,
};
static const char *const p_hasmoved[] = {
    "has moved",      "address has changed",        "no longer with",
    "has been moved", "user not local; please try", NULL,
};
static const char *const p_userunknown[] = {
    "address not found",
    "address couldn't be found",
    "could not be found",
    "user unknown",
    "unknown user",
    "no such user",
    "no such recipient",
    "no such mailbox",
    "no such address",
    "no such email",
    "no such person",
    "unknown recipient",
    "recipient unknown",
    "address unknown",
    "unknown address",
    "unknown mailbox",
    "invalid recipient",
    "invalid mailbox",
    "invalid address",
    "not a valid recipient",
    "not a valid mailbox",
    "not a valid user",
    "bad recipient",
    "bad address",
    "bad destination mailbox",
    "mailbox not found",
    "mailbox does not exist",
    "mailbox unavailable",
    "mailbox is unavailable",
    "mailbox not available",
    "mailbox not present",
    "mailbox invalid",
    "no mailbox",
    "recipient not found",
    "recipient does not exist",
    "recipient not exist",
    "recipient not ok",
    "recipient is not local",
    "user does not exist",
    "user doesn't exist",
    "user not found",
    "user not exist",
    "user not known",
    "user does not have",
    "does not exist",
    "doesn't exist",
    "not exist",
    "does not have an account",
    "doesn't have a",
    "no account",
    "not have an account",
    "is not a known user",
    "not known at this site",
    "recipient name is not recognized",
    "recipient address rejected: user",
    "recipient address rejected: undeliverable",
    "recipient address rejected: unknown",
    "address rejected",
    "not listed in domino directory",
    "not listed in public name",
    "unrouteable address",
    "unknown local part",
    "no such local user",
    "account that you tried to reach does not exist",
    "utilisateur inconnu",
    "nessun utente",
    "no existe",
    "unbekannt",
    "existiert nicht",
    "recipientnotfound",
    "recipient not recognized",
    "addressee unknown",
    "unknown or illegal alias",
    "unknown account",
    "invalid user",
    "no valid recipients",
    "recipient rejected",
    "is not a valid",
    "email account that you tried to reach",
    "not our customer",
    "badrecipientto",
    "validrcptto",
    "ist unbekannt",
    "userunknown",
    "inactive user",
    "adresse inconnue",
    "destinataire inconnu",
    "empfänger unbekannt",
    "пользователь не найден",
    "Пользователь не найден",
    "нет такого пользователя",
    "Нет такого пользователя",
    "用户不存在",
    "邮箱不存在",
    "收件人不存在",
    "宛先不明",
    /* More languages the receiving servers answer in (only ASCII is
     * folded: a capital outside ASCII needs its own line) */
    "postfach nicht vorhanden",
    "mailbox nicht vorhanden",
    "benutzer nicht vorhanden",
    "unbekannter empfänger",
    "boîte aux lettres inconnue",
    "boite aux lettres inconnue",
    "boîte aux lettres inexistante",
    "boite aux lettres inexistante",
    "n'existe pas",
    "utente inesistente",
    "utente sconosciuto",
    "casella inesistente",
    "destinatario sconosciuto", /* Aruba PEC: unknown, or takes certified mail only */
    "indirizzo inesistente",
    "usuario desconocido",
    "destinatario desconocido",
    "usuário desconhecido",
    "utilizador desconhecido",
    "destinatário desconhecido",
    "não existe",
    "nie istnieje",
    "nieznany użytkownik",
    "neexistuje",
    "bestaat niet",
    "onbekende gebruiker",
    "onbekende ontvanger",
    "не существует",
    "用戶不存在",
    "存在しません",
    "존재하지 않는",
    "unknown",
    NULL,
};
static const char *const p_hostunknown[] = {
    "the account or domain may not exist",
    "host unknown",
    "unknown host",
    "host not found",
    "domain not found",
    "domain does not exist",
    "no such domain",
    "domain name not found",
    "domain is not reachable",
    "domain must exist",
    "unknown domain",
    "host or domain name",
    "name or service not known",
    "mail domain mentioned in email address is unknown",
    "no mx",
    "nxdomain",
    "unrouteable mail domain",
    "domain could not be found",
    "non-existent domain",
    "domain lookup failed",
    "host name lookup failed",
    "invalid domain",
    "nonexistent domain",
    NULL,
};
static const char *const p_filtered[] = {
    "recipients was rejected by a remote mail server", /* au EZweb: its domain filter */
    /* Postfix's check_recipient_access REJECT: an access map refused the
     * address, which says nothing of the mailbox (Google's and Microsoft's
     * 5.4.1 directory refusals read otherwise: lib/reply.c) */
    "recipient address rejected: access denied",
    "doesn't have a",
    "filtered",
    "refused due to recipient preferences",
    "user refuses",
    "user reject",
    "only accepting mail from",
    "blocked by the recipient",
    "not accepting any mail",
    "rejected due to user rules",
    "is not accepting",
    "refuse to receive",
    "has restricted",
    "recipient preferences",
    "not authorized to send to",
    "does not accept mail from you",
    "notauthorized",
    NULL,
};
static const char *const p_rejected[] = {
    "can't determine purported responsible address",
    "sending to/from an address that has been blacklisted",
    "purported responsible",
    "sender rejected",
    "sender address rejected",
    "sender verify failed",
    "sender verification",
    "invalid sender",
    "bad sender",
    "sender is not allowed",
    "sender not allowed",
    "sender address has been blacklisted",
    "sender denied",
    "sender is in my badmailfrom",
    "badmailfrom",
    "null sender",
    "empty envelope sender",
    "mail from not owned",
    "domain of sender address",
    "sender domain",
    "from address rejected",
    "envelope sender",
    "address is not allowed",
    "unroutable sender",
    "batv",
    "backscatter",
    "returned mail not accepted",
    "no third-party dsns",
    "mail from rejected",
    "invalid from",
    "rejected sender",
    "not accept mail from",
    "sender blocked",
    "blocked sender",
    "sender address is blocked",
    "sender is blocked",
    "sender email address rejected",
    "emetteur invalide",
    /* Coremail "553 host denies the sender.", Symantec "551 Sender is on
     * domain's blacklist": the sender is what the list holds */
    "denies the sender",
    "sender is on",
    NULL,
};
static const char *const p_spamdetected[] = {
    "spam",
    "unsolicited",
    "bulk mail",
    "bulk email",
    "junk mail",
    "content filter",
    "message content rejected",
    "content rejected",
    "suspicious",
    "rejected as junk",
    "recurrent pattern",
    "scored",
    "high probability",
    "classified as",
    NULL,
};
static const char *const p_toomanyconn[] = {
    "too many recipients",
    "frequency limited",
    "too many connections",
    "too many concurrent",
    "connection limit",
    "connection rate",
    "too many sessions",
    "too many smtp sessions",
    "trop de connexions",
    "exceeds per-domain connection",
    "maximum connection",
    "too many errors",
    "max connections",
    "too many messages",
    "rate limit",
    "throttl",
    "too many mails",
    "too many emails",
    "daily message quota",
    "sending rate",
    "exceeded the max emails",
    NULL,
};
static const char *const p_speeding[] = {
    "please try again slower",
    "receiving mail at a rate",
    "try again slower",
    "rate that prevents",
    NULL,
};
static const char *const p_badreputation[] = {
    "reputation",
    "user complaints",
    "unexpected volume",
    /* "552 spam source blocked" (Symantec): the relay as a source of
     * spam, before the bare "spam" of the message */
    "spam source",
    NULL,
};
static const char *const p_blocked[] = {
    "abuse",
    "blocked using",
    "black ip", /* Coremail "550 black ip." */
    "blacklist",
    "black list",
    "blocklist",
    "block list",
    "dnsbl",
    "rbl",
    "listed in",
    "listed on",
    "listed at",
    "ip address",
    "your ip",
    "client host",
    "banned",
    "blocked",
    "block",
    "not allowed to connect",
    "connection refused",
    "denied access",
    "no access from mail server",
    "dynamic ip",
    "dialup",
    "dial-up",
    "please use the smtp server of your isp",
    "use your provider",
    "smtp server of your isp",
    "residential",
    "poor reputation",
    "not accepting mail from",
    "not currently accepting",
    "deny",
    "denied",
    "refused",
    NULL,
};
static const char *const p_policyviolation[] = {
    "policy",         "prohibited",
    "not permitted",  "illegal attachment",
    "attachment",     "closed mailing list",
    "not subscribed", "organization",
    "mass mailer",    NULL,
};
static const char *const p_expired[] = {
    "could not find a gateway for",
    "failed to deliver to domain ",
    "server did not respond",
    "it has not been collected after",
    "message timed out",
    "host not reachable",
    "have been failing for a long time",
    "been failing for",
    "did not accept our requests to connect",
    "expired",
    "retry timeout",
    "queue too long",
    "too long in queue",
    "giving up",
    "delivery attempts will continue",
    "has been delayed",
    "not been delivered",
    "could not be delivered for",
    "could not be delivered within",
    "retry time",
    "failed for a long time",
    "time limit",
    "not reachable within",
    "timed out",
    "no answer",
    "maximum time",
    "delivery time",
    "is being delayed",
    "deferred",
    "not yet been delivered",
    "was not delivered",
    "unable to deliver message after",
    NULL,
};
static const char *const p_networkerror[] = {
    "network error",
    "no route to host",
    "host is unreachable",
    "host unreachable",
    "name server",
    "dns",
    "loop",
    "too many hops",
    "hop count",
    "unable to resolve",
    "lost connection",
    "connection timed out",
    "connection reset",
    "could not connect",
    "unable to connect",
    "couldn't connect",
    "connect to",
    "unreachable",
    "temporary lookup failure",
    "malformed or unexpected name server reply",
    "malformed name server reply",
    /* the MX is the reporting MTA itself: Exim's "lowest numbered MX record
     * points to local host", Postfix's "mail for D loops back to myself" */
    "points to local host",
    "loops back to myself",
    NULL,
};
static const char *const p_notaccept[] = {
    "no mx found",
    "no mx record",
    "null mx",
    "nullmx",
    "does not accept mail",
    "not accept mail",
    "not accepting mail",
    "accepts no mail",
    "mail receiving disabled",
    "no mail is accepted",
    /* Exim on a null MX (RFC 7505): "an MX or SRV record indicated no SMTP
     * service" */
    "no smtp service",
    NULL,
};
static const char *const p_securityerror[] = {
    "smtp authentication",
    "authentication required",
    "authentication is required",
    "authentication failure",
    "authentication credentials",
    "must authenticate",
    "not authenticated",
    "unauthenticated",
    "authentication failed",
    "auth failed",
    "tls",
    "certificate",
    "security",
    "encrypt",
    NULL,
};
static const char *const p_syntaxerror[] = {
    "not implemented",
    "malformed address",
    "syntax error",
    "command unrecognized",
    "command not recognized",
    "unrecognized command",
    "bad sequence",
    "command not implemented",
    "invalid command",
    "syntax",
    NULL,
};
static const char *const p_mailererror[] = {
    "x-unix",    "command died", "command failed",    "exit code",
    "procmail",  "mailer error", "unknown mailer",    "bin/sh",
    "pipe to |", "exit status",  "mail for delivery", NULL,
};
static const char *const p_contenterror[] = {
    /* "mime" as a word: not the "mimecast" of a Mimecast link */
    "mime ",
    "mime-",
    "mime.",
    "mime,",
    "mime:",
    "mime)",
    "binary content",
    "invalid header",
    "improperly-formatted",
    "8bit",
    "line too long",
    "header line too long",
    "invalid character",
    "encoding",
    /* an internationalised message (RFC 6531) to a host that does not
     * offer SMTPUTF8: the message's fault, nobody's mailbox (Postfix;
     * Exim's log words) */
    "smtputf8 is required",
    "utf8 support required",
    NULL,
};
static const char *const p_systemfull[] = {
    "mail system full", "system full", "disk full", "file system full", NULL,
};
static const char *const p_systemerror[] = {
    "could not load drd",
    "system error",
    "internal error",
    "server error",
    "local error",
    "configuration error",
    "temporary local problem",
    "local problem",
    "mail system",
    "try again later",
    "temporarily unavailable",
    "service unavailable",
    "service not available",
    "unavailable",
    "resources",
    "temporary failure",
    "temporary error",
    "transaction failed",
    "error",
    NULL,
};

static const char *const p_hostunknown_early[] = {
    "host or domain name not found",
    /* Exim: the domain's MX hosts do not exist (reply_phrase_own_network()
     * tells it from a domain that does not) */
    "mx records point to non-existent hosts",
    NULL,
};
static const char *const p_networkerror_early[] = {
    "dns error",      "name service error", "host not found, try again",
    "lookup failure", "temporary lookup",   NULL,
};
static const char *const p_policyviolation_early[] = {
    "denied by policy",
    "by policy",
    "policy violation",
    "protocol violation",
    "header error",
    "policy reasons",
    "local policy",
    "presents a potential security issue",
    /* a banned attachment, not a banned relay (amavisd-new's own "- BANNED:"
     * is a row of lib/reply_rules.c) */
    "banned attachment",
    "banned file",
    "contains a banned",
    "banned content", /* Symantec Email Security.cloud */
    /* the message's content, which a bare x.7.1 would make a relay block */
    "content restriction",
    "unacceptable content",
    "objectionable content",
    "prohibited content",
    "due to content",
    "because of content",
    "content policy",
    NULL,
};
static const char *const p_spamdetected_early[] = {
    "spam classification",
    "classified as spam",
    "detected as spam",
    "rejected as spam",
    "flagged as spam",
    "looks like spam",
    "considered spam",
    "spam content",
    "spam detected",
    "is spam",
    "as spam",
    "spam message",
    NULL,
};

/* The order matters: specific before generic. */
static const phrase_table tables[] = {
    {"mailererror", p_mailererror},
    {"notcompliantrfc", p_notcompliantrfc},
    {"spamdetected", p_spamdetected_early},
    {"requireptr", p_requireptr},
    {"authfailure", p_authfailure},
    {"virusdetected", p_virusdetected},
    {"securityerror", p_securityerror_early},
    {"norelaying", p_norelaying},
    {"failedstarttls", p_failedstarttls},
    {"mesgtoobig", p_mesgtoobig},
    {"exceedlimit", p_exceedlimit},
    {"mailboxfull", p_mailboxfull},
    {"rejected", p_rejected_early},
    {"suspend", p_suspend},
    {"hasmoved", p_hasmoved},
    {"notaccept", p_notaccept},
    {"hostunknown", p_hostunknown_early},
    {"networkerror", p_networkerror_early},
    {"hostunknown", p_hostunknown},
    {"filtered", p_filtered},
    {"rejected", p_rejected},
    {"userunknown", p_userunknown},
    {"speeding", p_speeding},
    {"toomanyconn", p_toomanyconn},
    {"badreputation", p_badreputation},
    {"spamdetected", p_spamdetected},
    {"policyviolation", p_policyviolation_early},
    {"blocked", p_blocked},
    {"policyviolation", p_policyviolation},
    {"expired", p_expired},
    {"networkerror", p_networkerror},
    {"securityerror", p_securityerror},
    {"syntaxerror", p_syntaxerror},
    {"contenterror", p_contenterror},
    {"systemfull", p_systemfull},
    {"systemerror", p_systemerror},
    {NULL, NULL},
};

/* "553 mx.example.com does not exist": a host name, not a mailbox, is what
 * does not exist. */
static bool
host_does_not_exist(const char *text)
{
    static const char *const tails[] = {" does not exist", " doesn't exist", NULL};
    for (size_t k = 0; tails[k]; k++) {
        for (const char *hit = strstr(text, tails[k]); hit;
             hit = strstr(hit + 1, tails[k])) {
            const char *s = hit;
            while (s > text &&
                   (isalnum((unsigned char)s[-1]) || s[-1] == '.' || s[-1] == '-'))
                s--;
            size_t n = (size_t)(hit - s);
            const char *dot = memchr(s, '.', n);
            if (n >= 4 && dot && dot > s && dot < hit - 1 &&
                (s == text || s[-1] == ' ') && !isdigit((unsigned char)hit[-1]))
                return true;
        }
    }
    return false;
}

/* "sender <a@b> black listed" (smtpf, access maps): the verdict follows the
 * sender's address itself, which names the sender whatever the verb (a
 * "black list" alone would be read as the relay's). */
static bool
sender_address_refused(const char *text)
{
    static const char *const verbs[] = {"black listed", "blacklisted", "blocked",
                                        "banned",       "denied",      "refused",
                                        "rejected",     NULL};
    for (const char *hit = strstr(text, "sender <"); hit;
         hit = strstr(hit + 1, "sender <")) {
        const char *end = memchr(hit + 8, '>', strnlen(hit + 8, 320));
        if (!end || !memchr(hit + 8, '@', (size_t)(end - hit - 8)))
            continue;
        const char *v = end + 1;
        while (*v == ' ' || *v == ':')
            v++;
        if (strncmp(v, "is ", 3) == 0)
            v += 3;
        for (size_t k = 0; verbs[k]; k++)
            if (strncmp(v, verbs[k], strlen(verbs[k])) == 0)
                return true;
    }
    return false;
}

/* The tables flattened in their order, each phrase with its pairs and its
 * reason, and grouped by their rarest pairs (bg_text_set): made once per
 * process. */
static bg_text_needle *flat;
static const char **flat_reason;
static size_t nflat;
static bg_text_set flat_set;
static pthread_once_t flat_once = PTHREAD_ONCE_INIT;

static void
flatten(void)
{
    size_t n = 0;
    for (size_t t = 0; tables[t].reason; t++)
        for (size_t i = 0; tables[t].phrases[i]; i++)
            n++;
    flat = bg_xcalloc(n ? n : 1, sizeof *flat);
    flat_reason = bg_xcalloc(n ? n : 1, sizeof *flat_reason);
    for (size_t t = 0; tables[t].reason; t++)
        for (size_t i = 0; tables[t].phrases[i]; i++) {
            bg_text_needle_init(&flat[nflat], tables[t].phrases[i]);
            flat_reason[nflat++] = tables[t].reason;
        }
    bg_text_set_init(&flat_set, flat, nflat);
}

const char *
reply_phrase_reason(const char *text, const bg_text_pairs *pairs, const char **phrase)
{
    const char *unused;

    if (phrase == NULL)
        phrase = &unused;
    /* Hundreds of phrases against one short text: the caller noted which
     * byte pairs the text has; strstr runs only for the phrases whose pairs
     * are all there. */
    pthread_once(&flat_once, flatten);
    if (host_does_not_exist(text)) {
        *phrase = "<host> does not exist";
        return "hostunknown";
    }
    if (sender_address_refused(text)) {
        *phrase = "sender <address> refused";
        return "rejected";
    }
    uint64_t cand[BG_TEXT_SET_WORDS];
    if (!bg_text_set_candidates(&flat_set, pairs, cand)) {
        for (size_t i = 0; i < nflat; i++)
            if (bg_text_needle_may(pairs, &flat[i]) && strstr(text, flat[i].s)) {
                *phrase = flat[i].s;
                return flat_reason[i];
            }
        return NULL;
    }
    for (size_t w = 0; w < flat_set.nwords; w++)
        for (uint64_t m = cand[w]; m; m &= m - 1) {
            size_t i = w * 64 + (size_t)__builtin_ctzll(m);
            if (bg_text_needle_may(pairs, &flat[i]) && strstr(text, flat[i].s)) {
                *phrase = flat[i].s;
                return flat_reason[i];
            }
        }
    return NULL;
}

/*
 * The reporting MTA's own words for a connection that failed before any
 * server spoke: Postfix's "connect to mx.example.com[192.0.2.1]:25:
 * Connection refused" (or "No route to host", "Connection timed out").  No
 * server refused anything ("refused" is the kernel's): the network, never
 * a block of the relay.  low: the diagnostic (any case).
 */
bool
reply_phrase_own_connect(const char *low)
{
    while (*low == ' ')
        low++;
    if (strncasecmp(low, "connect to ", 11) != 0)
        return false;
    const char *close = strstr(low + 11, "]:");
    if (!close || close - low > 300 || !isdigit((unsigned char)close[2]))
        return false;
    const char *p = close + 2;
    while (isdigit((unsigned char)*p))
        p++;
    return p[0] == ':' && p[1] == ' ';
}

/*
 * Postfix's "Host or domain name not found. Name service error for name=N
 * type=A: Host not found" about a name N other than the recipient's domain:
 * the domain exists and has an MX, whose host does not resolve.  low: the
 * lower-case diagnostic.
 */
static bool
mx_host_unresolved(const char *low, const char *recipient)
{
    static const char key[] = "name service error for name=";
    const char *at = recipient ? strrchr(recipient, '@') : NULL;
    const char *n = strstr(low, key);
    if (!at || !at[1] || !n)
        return false;
    n += sizeof key - 1;
    size_t len = strcspn(n, " :");
    if (len > 0 && n[len - 1] == '.') /* a root dot */
        len--;
    return len > 0 && (strlen(at + 1) != len || strncasecmp(n, at + 1, len) != 0);
}

const char *
reply_phrase_own_network(const char *low, const char *text, const char *recipient,
                         const char **phrase, bool *broken_mx)
{
    *broken_mx = false;
    if (reply_phrase_own_connect(low)) {
        if (phrase)
            *phrase = "connect to HOST[ADDRESS]:PORT: (the MTA's own connection failure)";
        return "networkerror";
    }
    /* An MX host that does not resolve: the domain exists, its MX is
     * broken and may be mended.  Still hostunknown (as Sisimai reads it),
     * but no verdict on the domain for good (the caller's scope). */
    if (text && strcmp(text, "hostunknown") == 0 &&
        (strstr(low, "mx records point to non-existent hosts") ||
         mx_host_unresolved(low, recipient)))
        *broken_mx = true;
    return text;
}
