/*
 * reply_rules.c — receiving systems' own refusal codes as data; see
 * include/bounceguard/reply_rules.h.
 *
 * Each row is a code or a fixed wording that its provider documents, and
 * the page where it does.  Only what identifies one provider's refusal
 * belongs here (a code such as "S3150" or "[TSS04]", a help URL, a fixed
 * sentence); generic wordings ("user unknown", "mailbox full") are the
 * phrase tables' (lib/reply_phrases.c).  Rows that say the relay is refused
 * name the refusing system: that name is the incident's.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounceguard/reply_rules.h"
#include "bounceguard/textmatch.h"

#define MS_NDR                                                                           \
    "https://learn.microsoft.com/en-us/exchange/mail-flow-best-practices/"               \
    "non-delivery-reports-in-exchange-online/non-delivery-reports-in-exchange-online"
#define MS_PM "https://sendersupport.olc.protection.outlook.com/pm/troubleshooting.aspx"
#define YAHOO "https://senders.yahooinc.com/smtp-error-codes/"
#define GOOGLE "https://support.google.com/a/answer/3726730"
#define APPLE "https://support.apple.com/en-us/102322"
#define COMCAST "https://postmaster.comcast.net/mail-error-codes.html"
#define COX "https://www.cox.com/residential/support/email-error-codes.html"
#define SPECTRUM                                                                         \
    "https://www.spectrum.net/support/internet/understanding-email-error-codes"
#define GODADDY "https://www.godaddy.com/help/email-bounce-back-codes-40685"
#define ORANGE "https://postmaster.orange.fr/"
#define MIMECAST                                                                         \
    "https://community.mimecast.com/s/article/Mimecast-SMTP-Error-Codes-842605754"
#define PROOFPOINT "https://ipcheck.proofpoint.com/"
#define BARRACUDA "https://www.barracudacentral.org/rbl"
#define BARRACUDA_GW                                                                     \
    "https://www.suped.com/email-deliverability/answers/"                                \
    "what-causes-bounces-from-barracuda-based-domains-and-how-to-resolve-them"
#define CISCO "https://talosintelligence.com/reputation_center"
#define TREND "https://ers.trendmicro.com/"
#define MAILRU "https://help.mail.ru/developers/mailing-rules/smtp-errors"
#define QQ "https://service.mail.qq.com/detail/0/310"
#define GMX "https://postmaster.gmx.net/en/error-messages"
#define WEBDE "https://postmaster.web.de/en/error-messages"
#define ZOHO "https://www.zoho.com/mail/help/adminconsole/bounce-back-errors.html"
#define YANDEX "https://yandex.com/support/mail/web/error-messages.html"
#define ATT "https://about.att.com/sites/postmaster"
#define POSTGREY "https://postgrey.schweikert.ch/"
#define COREMAIL "https://blog.sina.com.cn/s/blog_8dc13ec50101fxxr.html"
#define PEC                                                                              \
    "https://guide.pec.it/posta-pec/faq-errori-comuni/errori-comuni/"                    \
    "errori-comuni-durante-invio-ricezione-pec.aspx"
#define IONOS                                                                            \
    "https://www.ionos.de/hilfe/e-mail/postmaster/"                                      \
    "smtp-fehlermeldungen-der-11-ionos-mailserver/"
#define NETEASE                                                                          \
    "https://help.mail.163.com/"                                                         \
    "faqDetail.do?code=d7a5dc8471cd0c0e8b4b8f4f8e49998b374173cfe9171305fa1ce630d7f67ac2"
#define TONLINE "https://postmaster.t-online.de/"
#define FREE "https://postmaster.free.fr/"
#define POSTFIX "https://www.postfix.org/postconf.5.html#smtpd_client_restrictions"
#define EXIM                                                                             \
    "https://www.exim.org/exim-html-current/doc/html/spec_html/"                         \
    "ch-access_control_lists.html"
#define QMAIL "https://cr.yp.to/qmail/faq/servers.html"
#define SPAMHAUS "https://www.spamhaus.org/faqs/dnsbl-usage/"
#define SURBL "https://www.surbl.org/lists"
#define AMAVIS "https://www.ijs.si/software/amavisd/amavisd-new-docs.html"
#define URIBL "https://uribl.com/about.shtml"

/* clang-format off */
static const bg_reply_rule builtin[] = {
    /* Microsoft: Outlook.com and Exchange Online Protection. */
    {"microsoft", "s3150", BG_SCOPE_RELAY, NULL, "Microsoft S3150 (Outlook.com block list)", MS_PM},
    {"microsoft", "s3140", BG_SCOPE_RELAY, NULL, "Microsoft S3140 (Outlook.com block list)", MS_PM},
    {"microsoft", "s3114", BG_SCOPE_RELAY, NULL, "Microsoft S3114 (Outlook.com block list)", MS_PM},
    {"microsoft", "s3113", BG_SCOPE_RELAY, NULL, "Microsoft S3113 (Outlook.com block list)", MS_PM},
    /* The opening of the S3140/S3150 refusals: Sendmail's log cuts the
     * reply before the code */
    {"microsoft", "weren't sent. please contact your internet service provider", BG_SCOPE_RELAY, NULL, "Microsoft block list (S3140/S3150)", MS_PM},
    {"microsoft", "s775", BG_SCOPE_RELAY, NULL, "Microsoft S775 (Outlook.com block list)", MS_PM},
    {"microsoft", "s844", BG_SCOPE_RELAY, NULL, "Microsoft S844 (Outlook.com block list)", MS_PM},
    {"microsoft", "sc-001", BG_SCOPE_RELAY, NULL, "Microsoft SC-001 (IP refused by policy)", MS_PM},
    {"microsoft", "sc-002", BG_SCOPE_RELAY, NULL, "Microsoft SC-002 (IP refused)", MS_PM},
    {"microsoft", "sc-004", BG_SCOPE_RELAY, NULL, "Microsoft SC-004 (IP refused)", MS_PM},
    {"microsoft", "dy-001", BG_SCOPE_RELAY, NULL, "Microsoft DY-001 (IP refused)", MS_PM},
    {"microsoft", "dy-002", BG_SCOPE_RELAY, NULL, "Microsoft DY-002 (IP refused)", MS_PM},
    {"microsoft", "ou-001", BG_SCOPE_RELAY, NULL, "Microsoft OU-001 (IP refused)", MS_PM},
    {"microsoft", "ou-002", BG_SCOPE_RELAY, NULL, "Microsoft OU-002 (IP refused)", MS_PM},
    {"microsoft", "mailfrom domain is listed", BG_SCOPE_SENDER, "rejected", "Microsoft (sender domain listed)", MS_NDR},
    {"microsoft", "banned sending ip", BG_SCOPE_RELAY, NULL, "Microsoft 5.7.606-649 (banned sending IP)", MS_NDR},
    {"microsoft", "5.7.511", BG_SCOPE_RELAY, NULL, "Microsoft 5.7.511 (banned sender)", MS_NDR},
    {"microsoft", "5.7.512", BG_SCOPE_MESSAGE, "policyviolation", "Microsoft 5.7.512 (message rejected)", MS_NDR},
    {"microsoft", "5.7.513", BG_SCOPE_RELAY, NULL, "Microsoft 5.7.513 (blocked by the recipient's tenant)", MS_NDR},
    {"microsoft", "5.7.708", BG_SCOPE_RELAY, "badreputation", "Microsoft 5.7.708 (traffic not accepted from this IP)", MS_NDR},
    {"microsoft", "5.7.750", BG_SCOPE_SENDER, "rejected", "Microsoft 5.7.750 (unregistered sending domain)", MS_NDR},
    {"microsoft", "5.7.705", BG_SCOPE_SENDER, "rejected", "Microsoft 5.7.705 (sending tenant over threshold)", MS_NDR},
    {"microsoft", "5.7.509", BG_SCOPE_SENDER, "authfailure", "Microsoft 5.7.509 (DMARC)", MS_NDR},
    {"microsoft", "5.7.23", BG_SCOPE_SENDER, "authfailure", "Microsoft 5.7.23 (SPF)", MS_NDR},
    {"microsoft", "5.7.57", BG_SCOPE_SENDER, "securityerror", "Microsoft 5.7.57 (client not authenticated)", MS_NDR},
    {"microsoft", "5.7.520", BG_SCOPE_SENDER, "rejected", "Microsoft 5.7.520 (external forwarding not allowed)", MS_NDR},
    /* The group or mailbox takes mail only from senders inside its own
     * Exchange organisation (RequireSenderAuthentication): no sender of
     * an outside relay ever is one, so the address does not accept the
     * relay's mail, whoever sends it */
    {"microsoft", "5.7.133", BG_SCOPE_RECIPIENT, "notaccept", "Microsoft 5.7.133 (group takes mail from its own organisation only)", MS_NDR},
    {"microsoft", "5.7.134", BG_SCOPE_RECIPIENT, "notaccept", "Microsoft 5.7.134 (mailbox takes mail from its own organisation only)", MS_NDR},
    {"microsoft", "5.7.124", BG_SCOPE_SENDER, "rejected", "Microsoft 5.7.124 (sender not in allowed-senders list)", MS_NDR},
    {"microsoft", "resolver.adr.recipientnotfound", BG_SCOPE_RECIPIENT, "userunknown", "Microsoft 5.1.10 (recipient not found)", MS_NDR},
    {"microsoft", "resolver.adr.exrecipnotfound", BG_SCOPE_RECIPIENT, "userunknown", "Microsoft 5.1.1 (recipient not found)", MS_NDR},
    {"microsoft", "resolver.adr.recipientlimit", BG_SCOPE_MESSAGE, "exceedlimit", "Microsoft 5.5.3 (too many recipients)", MS_NDR},
    {"microsoft", "resolver.rst.authrequired", BG_SCOPE_SENDER, "securityerror", "Microsoft 5.7.1 (authentication required)", MS_NDR},
    {"microsoft", "resolver.rst.notauthorized", BG_SCOPE_SENDER, "rejected", "Microsoft 5.7.1 (not authorized)", MS_NDR},
    {"microsoft", "recipient address rejected: access denied. as(", BG_SCOPE_RECIPIENT, "userunknown", "Microsoft 5.4.1 (directory-based edge blocking)", MS_NDR},
    {"microsoft", "4.7.500", BG_SCOPE_TRANSIENT, "speeding", "Microsoft 4.7.500-699 (throttled)", MS_NDR},
    {"microsoft", "4.7.650", BG_SCOPE_RELAY, "badreputation", "Microsoft 4.7.650 (IP reputation)", MS_NDR},
    /* Yahoo and AOL. */
    /* Yahoo's "Authentication failures": every sender must authenticate
     * with SPF or DKIM; the code ([TSS11]) is a deferral's, the words say
     * why */
    {"yahoo", "excessive unauthenticated traffic", BG_SCOPE_SENDER, "authfailure", "Yahoo (unauthenticated traffic)", YAHOO},
    {"yahoo", "[tss04]", BG_SCOPE_RELAY, NULL, "Yahoo TSS04 (volume or complaints)", YAHOO},
    {"yahoo", "[tss09]", BG_SCOPE_RELAY, NULL, "Yahoo TSS09 (permanently deferred)", YAHOO},
    {"yahoo", "[tss11]", BG_SCOPE_RELAY, NULL, "Yahoo TSS11 (volume or complaints)", YAHOO},
    {"yahoo", "[tss*", BG_SCOPE_RELAY, NULL, "Yahoo TSS (deferred for the sending IP)", YAHOO},
    {"yahoo", "[ts01]", BG_SCOPE_RELAY, NULL, "Yahoo TS01 (deferred for the sending IP)", YAHOO},
    {"yahoo", "[ts02]", BG_SCOPE_RELAY, NULL, "Yahoo TS02 (complaints)", YAHOO},
    {"yahoo", "[ts03]", BG_SCOPE_RELAY, NULL, "Yahoo TS03 (permanently deferred)", YAHOO},
    {"yahoo", "[ts0*", BG_SCOPE_RELAY, NULL, "Yahoo TS (deferred for the sending IP)", YAHOO},
    {"yahoo", "[bl21]", BG_SCOPE_RELAY, NULL, "Yahoo BL21 (Spamhaus listing)", YAHOO},
    {"yahoo", "[bl22]", BG_SCOPE_RELAY, NULL, "Yahoo BL22 (Spamhaus listing)", YAHOO},
    {"yahoo", "[bl23]", BG_SCOPE_RELAY, NULL, "Yahoo BL23 (Spamhaus listing)", YAHOO},
    {"aol", "rly:*", BG_SCOPE_RELAY, NULL, "AOL RLY (IP refused)", YAHOO},
    {"yahoo", "[ph01]", BG_SCOPE_MESSAGE, "policyviolation", "Yahoo PH01 (policy)", YAHOO},
    {"yahoo", "this user doesn't have a yahoo.com account", BG_SCOPE_RECIPIENT, "userunknown", "Yahoo 554 dd (no such account)", YAHOO},
    {"yahoo", "this user doesn't have a ymail.com account", BG_SCOPE_RECIPIENT, "userunknown", "Yahoo 554 dd (no such account)", YAHOO},
    {"yahoo", "this user doesn't have a rocketmail.com account", BG_SCOPE_RECIPIENT, "userunknown", "Yahoo 554 dd (no such account)", YAHOO},
    {"yahoo", "this user doesn't have a aol.com account", BG_SCOPE_RECIPIENT, "userunknown", "Yahoo 554 dd (no such account)", YAHOO},
    {"yahoo", "this mailbox is disabled", BG_SCOPE_RECIPIENT, "suspend", "Yahoo 554.30 (mailbox disabled)", YAHOO},
    {"yahoo", "sender is unauthenticated", BG_SCOPE_SENDER, "authfailure", "Yahoo/Google 5.7.9/5.7.26 (unauthenticated sender)", YAHOO},
    {"yahoo", "unresolvable rfc.5321 from domain", BG_SCOPE_SENDER, "rejected", "Yahoo 451 (sender domain does not resolve)", YAHOO},
    {"yahoo", "not accepted for policy reasons", BG_SCOPE_MESSAGE, "policyviolation", "Yahoo 554 5.7.9 (policy)", YAHOO},
    /* Google. */
    {"google", "the email account that you tried to reach does not exist", BG_SCOPE_RECIPIENT, "userunknown", "Gmail 5.1.1 (no such account)", GOOGLE},
    {"google", "the email account that you tried to reach is disabled", BG_SCOPE_RECIPIENT, "suspend", "Gmail 5.2.1 (account disabled)", GOOGLE},
    {"google", "the email account that you tried to reach is inactive", BG_SCOPE_RECIPIENT, "suspend", "Gmail 5.2.1 (account inactive)", GOOGLE},
    {"google", "out of storage space and inactive", BG_SCOPE_RECIPIENT, "suspend", "Gmail 5.2.2 (full and inactive)", GOOGLE},
    {"google", "the recipient's inbox is out of storage space", BG_SCOPE_RECIPIENT, "mailboxfull", "Gmail 4.2.2/5.2.2 (out of storage)", GOOGLE},
    {"google", "the email account that you tried to reach is over quota", BG_SCOPE_RECIPIENT, "mailboxfull", "Gmail 5.2.2 (over quota)", GOOGLE},
    {"google", "unusual rate of unsolicited mail originating from your ip", BG_SCOPE_RELAY, "badreputation", "Gmail 4.7.28/5.7.28 (IP reputation)", GOOGLE},
    {"google", "unusual rate of unsolicited mail originating from your dkim domain", BG_SCOPE_SENDER, "badreputation", "Gmail 4.7.28 (DKIM domain reputation)", GOOGLE},
    {"google", "unusual rate of unsolicited mail originating from your domain", BG_SCOPE_SENDER, "badreputation", "Gmail 4.7.28 (domain reputation)", GOOGLE},
    /* The wordings of Google's table since 2025: "unsolicited email", "rate
     * of email", "IP Netblock", "SPF domain", "doesn't have a PTR record" */
    {"google", "unsolicited email originating from your dkim domain", BG_SCOPE_SENDER, "badreputation", "Gmail 4.7.28 (DKIM domain reputation)", GOOGLE},
    {"google", "unsolicited email originating from your spf domain", BG_SCOPE_SENDER, "badreputation", "Gmail 4.7.28 (SPF domain reputation)", GOOGLE},
    {"google", "email originating from your ip", BG_SCOPE_RELAY, "badreputation", "Gmail 4.7.28 (IP rate or reputation)", GOOGLE},
    {"google", "unsolicited email containing one of your url domains", BG_SCOPE_MESSAGE, "spamdetected", "Gmail 4.7.28 (URL domain)", GOOGLE},
    /* A Google Workspace domain that takes mail only from the addresses it
     * lists (an inbound gateway) */
    {"google", "ip not in whitelist for rcpt domain", BG_SCOPE_RELAY, "blocked", "Gmail 4.7.0 (IP not in the domain's allowed list)", GOOGLE},
    {"google", "the ip you're using to send", BG_SCOPE_RELAY, "blocked", "Gmail 5.7.1 (IP not authorized to send directly)", GOOGLE},
    {"google", "low reputation of the sending ip", BG_SCOPE_RELAY, "badreputation", "Gmail 4.7.0/5.7.1 (IP reputation)", GOOGLE},
    {"google", "low reputation of the sending domain", BG_SCOPE_SENDER, "badreputation", "Gmail 4.7.0/5.7.1 (domain reputation)", GOOGLE},
    {"google", "does not have a ptr record", BG_SCOPE_RELAY, "requireptr", "Gmail 5.7.25 (no PTR for the sending IP)", GOOGLE},
    {"google", "doesn't have a ptr record", BG_SCOPE_RELAY, "requireptr", "Gmail 4.7.23 (no PTR for the sending IP)", GOOGLE},
    {"google", "spf authentication didn't pass", BG_SCOPE_SENDER, "authfailure", "Gmail 4.7.27 (SPF)", GOOGLE},
    {"google", "dkim authentication didn't pass", BG_SCOPE_SENDER, "authfailure", "Gmail 4.7.30 (DKIM)", GOOGLE},
    {"google", "isn't aligned with either the authenticated spf or dkim", BG_SCOPE_SENDER, "authfailure", "Gmail 4.7.32/5.7.32 (DMARC alignment)", GOOGLE},
    {"google", "messages missing a valid", BG_SCOPE_MESSAGE, "notcompliantrfc", "Gmail 5.7.1 (From: or Message-ID: missing)", GOOGLE},
    {"google", "multiple addresses in the from: header", BG_SCOPE_MESSAGE, "notcompliantrfc", "Gmail 5.7.1 (From: with several addresses)", GOOGLE},
    {"google", "unicode character in a disallowed header", BG_SCOPE_MESSAGE, "notcompliantrfc", "Gmail 5.7.1 (header)", GOOGLE},
    {"google", "encoded-word syntax is not permitted", BG_SCOPE_MESSAGE, "notcompliantrfc", "Gmail 5.7.1 (header)", GOOGLE},
    {"google", "due to domain's dmarc policy", BG_SCOPE_SENDER, "authfailure", "Gmail 5.7.26 (DMARC)", GOOGLE},
    {"google", "does not pass authentication checks", BG_SCOPE_SENDER, "authfailure", "Gmail 5.7.26 (authentication)", GOOGLE},
    {"google", "spf check for", BG_SCOPE_SENDER, "authfailure", "Gmail 5.7.27 (SPF)", GOOGLE},
    {"google", "this message is likely unsolicited mail", BG_SCOPE_MESSAGE, "spamdetected", "Gmail 5.7.1 (likely spam)", GOOGLE},
    {"google", "likely suspicious due to the very low reputation of the sending domain", BG_SCOPE_SENDER, "badreputation", "Gmail 5.7.1 (domain reputation)", GOOGLE},
    {"google", "message contains an attachment that is not allowed", BG_SCOPE_MESSAGE, "securityerror", "Gmail 5.7.0 (blocked attachment)", GOOGLE},
    {"google", "content presents a potential security issue", BG_SCOPE_MESSAGE, NULL, "Gmail 5.7.0 (security)", GOOGLE},
    /* Gmail's content verdicts; their first line is all Sendmail's log
     * keeps, and it names the message, not the relay, though it quotes the
     * relay's IP */
    {"google", "our system has detected that this message is likely", BG_SCOPE_MESSAGE, "spamdetected", "Gmail 5.7.1 (message likely unsolicited or suspicious)", GOOGLE},
    {"google", "this message was blocked because its content", BG_SCOPE_MESSAGE, "policyviolation", "Gmail 5.7.0 (content a security issue)", GOOGLE},
    {"google", "has a policy that prohibited the mail that you sent", BG_SCOPE_MESSAGE, "policyviolation", "Gmail 5.7.1 (recipient's policy)", GOOGLE},
    {"google", "receiving mail at a rate that prevents additional messages", BG_SCOPE_TRANSIENT, "speeding", "Gmail 4.2.1/4.2.2 (recipient rate)", GOOGLE},
    {"google", "the user you are trying to contact is receiving mail too quickly", BG_SCOPE_TRANSIENT, "speeding", "Gmail 4.2.1 (recipient rate)", GOOGLE},
    /* Apple iCloud. */
    {"apple", "[cs01]", BG_SCOPE_MESSAGE, "spamdetected", "Apple CS01 (content policy)", APPLE},
    {"apple", "[hm08]", BG_SCOPE_RELAY, NULL, "Apple HM08 (sending IP)", APPLE},
    /* Comcast (Xfinity). */
    {"comcast", "bl000001", BG_SCOPE_RELAY, NULL, "Comcast BL000001 (Spamhaus ZEN)", COMCAST},
    {"comcast", "bl000010", BG_SCOPE_RELAY, NULL, "Comcast BL000010 (Cloudmark CSI)", COMCAST},
    {"comcast", "bl000100", BG_SCOPE_RELAY, NULL, "Comcast BL000100 (SenderScore)", COMCAST},
    {"comcast", "bl0000*", BG_SCOPE_RELAY, NULL, "Comcast BL0000xx (IP block list)", COMCAST},
    {"comcast", "bl00*", BG_SCOPE_RELAY, NULL, "Comcast BL (IP block list)", COMCAST},
    {"comcast", "es000001", BG_SCOPE_RELAY, NULL, "Comcast ES000001 (dynamic IP space)", COMCAST},
    {"comcast", "es000010", BG_SCOPE_RELAY, NULL, "Comcast ES000010 (dynamic IP space)", COMCAST},
    {"comcast", "rl0000*", BG_SCOPE_TRANSIENT, "speeding", "Comcast RL (rate limit)", COMCAST},
    {"comcast", "not our customer", BG_SCOPE_RECIPIENT, NULL, "Comcast 5.1.1 (not our customer)", COMCAST},
    /* Cox. */
    {"cox", "aup#cxbl", BG_SCOPE_RELAY, NULL, "Cox AUP#CXBL (IP block list)", COX},
    {"cox", "aup#cdrbl", BG_SCOPE_RELAY, NULL, "Cox AUP#CDRBL (IP block list)", COX},
    {"cox", "aup#ipbl", BG_SCOPE_RELAY, NULL, "Cox AUP#IPBL (IP block list)", COX},
    {"cox", "aup#cxdns", BG_SCOPE_RELAY, "requireptr", "Cox AUP#CXDNS (reverse DNS)", COX},
    {"cox", "aup#cxsndr", BG_SCOPE_SENDER, "rejected", "Cox AUP#CXSNDR (sender)", COX},
    {"cox", "aup#cxcnct", BG_SCOPE_TRANSIENT, "toomanyconn", "Cox AUP#CXCNCT (connections)", COX},
    {"cox", "aup#urlbl", BG_SCOPE_MESSAGE, "spamdetected", "Cox AUP#URLBL (URL in the message)", COX},
    /* Spectrum (Charter). */
    {"spectrum", "aup#1000", BG_SCOPE_RELAY, NULL, "Spectrum AUP#1000 (IP block list)", SPECTRUM},
    {"spectrum", "aup#in-13*", BG_SCOPE_TRANSIENT, "toomanyconn", "Spectrum AUP#In-13xx (rate)", SPECTRUM},
    {"spectrum", "aup#11*", BG_SCOPE_RELAY, NULL, "Spectrum AUP#11xx (IP block list)", SPECTRUM},
    {"spectrum", "aup#12*", BG_SCOPE_RELAY, NULL, "Spectrum AUP#12xx (IP block list)", SPECTRUM},
    {"spectrum", "aup#13*", BG_SCOPE_TRANSIENT, "toomanyconn", "Spectrum AUP#13xx (rate)", SPECTRUM},
    {"spectrum", "aup#14*", BG_SCOPE_TRANSIENT, "toomanyconn", "Spectrum AUP#14xx (rate)", SPECTRUM},
    /* GoDaddy (secureserver.net). */
    {"godaddy", "ib10*", BG_SCOPE_RELAY, NULL, "GoDaddy IB10x (IP block list)", GODADDY},
    {"godaddy", "ib11*", BG_SCOPE_RELAY, NULL, "GoDaddy IB11x (IP block list)", GODADDY},
    {"godaddy", "ib212", BG_SCOPE_MESSAGE, "spamdetected", "GoDaddy IB212 (spam)", GODADDY},
    {"godaddy", "ib401", BG_SCOPE_MESSAGE, "securityerror", "GoDaddy IB401 (security)", GODADDY},
    {"godaddy", "ib501", BG_SCOPE_SENDER, "rejected", "GoDaddy IB501 (sender)", GODADDY},
    {"godaddy", "ib705", BG_SCOPE_MESSAGE, "virusdetected", "GoDaddy IB705 (virus)", GODADDY},
    /* Orange / Wanadoo: OFR_nnn, the number of its published list. */
    {"orange", "ofr_101", BG_SCOPE_RELAY, NULL, "Orange OFR_101 (IP block list)", ORANGE},
    {"orange", "ofr_102", BG_SCOPE_RELAY, NULL, "Orange OFR_102 (IP block list)", ORANGE},
    {"orange", "ofr_103", BG_SCOPE_RELAY, NULL, "Orange OFR_103 (IP block list)", ORANGE},
    {"orange", "ofr_401", BG_SCOPE_RELAY, NULL, "Orange OFR_401 (IP block list)", ORANGE},
    {"orange", "ofr_510", BG_SCOPE_RELAY, NULL, "Orange OFR_510 (IP block list)", ORANGE},
    /* Mimecast. */
    {"mimecast", "ip address blocked by mimecast", BG_SCOPE_RELAY, NULL, "Mimecast (IP blocked)", MIMECAST},
    {"mimecast", "local ct ip reputation", BG_SCOPE_RELAY, "badreputation", "Mimecast IP reputation", MIMECAST},
    {"mimecast", "global ct ip reputation", BG_SCOPE_RELAY, "badreputation", "Mimecast IP reputation", MIMECAST},
    {"mimecast", "rejected by header based anti-spoofing policy", BG_SCOPE_SENDER, "authfailure", "Mimecast anti-spoofing", MIMECAST},
    {"mimecast", "envelope blocked", BG_SCOPE_SENDER, "rejected", "Mimecast envelope blocked", MIMECAST},
    {"mimecast", "email rejected due to security policies", BG_SCOPE_MESSAGE, "securityerror", "Mimecast security policy", MIMECAST},
    /* Proofpoint. */
    {"proofpoint", "ipcheck.proofpoint.com", BG_SCOPE_RELAY, NULL, "Proofpoint Dynamic Reputation", PROOFPOINT},
    {"proofpoint", "proofpoint dynamic reputation", BG_SCOPE_RELAY, NULL, "Proofpoint Dynamic Reputation", PROOFPOINT},
    /* Barracuda. */
    /* The Barracuda Email Security Gateway's own verdict on the message
     * (":blocked", ":quarantined"), not a reputation listing */
    {"barracuda", "permanent failure for one or more recipients", BG_SCOPE_MESSAGE, "policyviolation", "Barracuda gateway (message blocked)", BARRACUDA_GW},
    {"barracuda", "barracudacentral.org", BG_SCOPE_RELAY, NULL, "b.barracudacentral.org", BARRACUDA},
    {"barracuda", "barracuda reputation", BG_SCOPE_RELAY, NULL, "b.barracudacentral.org", BARRACUDA},
    {"barracuda", "barracudanetworks.com/reputation", BG_SCOPE_RELAY, NULL, "b.barracudacentral.org", BARRACUDA},
    /* Cisco (IronPort, Talos). */
    {"cisco", "talosintelligence.com", BG_SCOPE_RELAY, "badreputation", "Cisco Talos reputation", CISCO},
    {"cisco", "senderbase", BG_SCOPE_RELAY, "badreputation", "Cisco SenderBase reputation", CISCO},
    {"cisco", "sending mta's poor reputation", BG_SCOPE_RELAY, "badreputation", "Cisco IronPort reputation", CISCO},
    /* Trend Micro. */
    {"trendmicro", "ers.trendmicro.com", BG_SCOPE_RELAY, NULL, "Trend Micro ERS", TREND},
    {"trendmicro", "rbl+", BG_SCOPE_RELAY, NULL, "Trend Micro RBL+", TREND},
    {"trendmicro", "email reputation services", BG_SCOPE_RELAY, NULL, "Trend Micro ERS", TREND},
    /* Mail.ru. */
    {"mailru", "access from ip address", BG_SCOPE_RELAY, NULL, "Mail.ru (IP refused)", MAILRU},
    {"mailru", "help.mail.ru/notspam-support", BG_SCOPE_MESSAGE, "spamdetected", "Mail.ru spam filter", MAILRU},
    {"mailru", "invalid mailbox", BG_SCOPE_RECIPIENT, "userunknown", "Mail.ru 550 (invalid mailbox)", MAILRU},
    {"mailru", "user not found", BG_SCOPE_RECIPIENT, "userunknown", "Mail.ru 550 (user not found)", MAILRU},
    {"mailru", "mailbox is blocked", BG_SCOPE_RECIPIENT, "suspend", "Mail.ru 550 (mailbox blocked)", MAILRU},
    /* Tencent QQ. */
    {"qq", "mailbox not found", BG_SCOPE_RECIPIENT, "userunknown", "QQ 550 (mailbox not found)", QQ},
    {"qq", "mailbox unavailable or access denied", BG_SCOPE_TRANSIENT, "toomanyconn", "QQ 550 (rate limit)", QQ},
    {"qq", "ip frequency limited", BG_SCOPE_TRANSIENT, "toomanyconn", "QQ (IP frequency limited)", QQ},
    {"qq", "connection frequency limited", BG_SCOPE_TRANSIENT, "toomanyconn", "QQ (connection frequency limited)", QQ},
    {"qq", "domain frequency limited", BG_SCOPE_TRANSIENT, "toomanyconn", "QQ (domain frequency limited)", QQ},
    {"qq", "mail content denied", BG_SCOPE_MESSAGE, "spamdetected", "QQ (content denied)", QQ},
    /* GMX and WEB.DE (United Internet). */
    /* Not the "For explanation visit https://postmaster.gmx.net/en/case?..."
     * link: GMX's error-message page says every error of its servers
     * carries one, a refused message ("554-Transaction failed ... Reject due
     * to policy restrictions") as well as a blocked IP; the lines before it
     * say which. */
    /* The greeting of GMX, WEB.DE and IONOS (the same Nemesis servers)
     * refusing a connection; the reason follows on later lines, which
     * Sendmail's log does not keep */
    {"gmx", "nemesis esmtp service not available", BG_SCOPE_RELAY, NULL, "GMX/WEB.DE/IONOS (connection refused)", GMX},
    {"gmx", "ip address is block listed", BG_SCOPE_RELAY, NULL, "GMX/WEB.DE block list", GMX},
    {"gmx", "ip address is blocklisted", BG_SCOPE_RELAY, NULL, "GMX/WEB.DE block list", GMX},
    /* Zoho. */
    {"zoho", "unusual sending activity detected", BG_SCOPE_RELAY, NULL, "Zoho (sending IP)", ZOHO},
    {"zoho", "email rejected per dmarc policy", BG_SCOPE_SENDER, "authfailure", "Zoho DMARC", ZOHO},
    {"zoho", "email rejected per spf policy", BG_SCOPE_SENDER, "authfailure", "Zoho SPF", ZOHO},
    /* Yandex. */
    {"yandex", "message rejected under suspicion of spam", BG_SCOPE_MESSAGE, "spamdetected", "Yandex spam filter", YANDEX},
    {"yandex", "no such user!", BG_SCOPE_RECIPIENT, "userunknown", "Yandex 5.7.1 (no such user)", YANDEX},
    {"yandex", "policy rejection on target address", BG_SCOPE_RECIPIENT, "suspend", "Yandex (target address refused)", YANDEX},
    {"yandex", "policy rejection on the target address", BG_SCOPE_RECIPIENT, "suspend", "Yandex (target address refused)", YANDEX},
    /* AT&T (before its move to Yahoo). */
    {"att", "abuse-att.net", BG_SCOPE_RELAY, NULL, "AT&T block list", ATT},
    /* BellSouth's (AT&T's) block list and its "not a registered mail
     * system" refusal of the connecting host: the texts of AT&T's Mailblock
     * page, served over http only
     * (worldnet.att.net/general-info/bls_info/block_enduser.html) */
    {"att", "ou=rblmx", BG_SCOPE_RELAY, NULL, "AT&T/BellSouth rblmx block list", ATT},
    {"att", "unauthorized interface for", BG_SCOPE_RELAY, NULL, "AT&T/BellSouth (host not a recognised mail source)", ATT},
    /* IONOS (1&1): the sending IP blocked for a poor delivery rate (too
     * many unknown recipients) or a changing HELO; not GMX's "Reject due to
     * policy restrictions", which is about the message */
    {"ionos", "reject due to policy violations", BG_SCOPE_RELAY, "badreputation", "IONOS (sending IP blocked: policy violations)", IONOS},
    /* NetEase (163.com, 126.com), T-Online, Free. */
    /* NetEase's own codes say more than the help page they all link to:
     * HL (the IP's behaviour) and DT:RBL, WM:BLI are the relay, DT:SPM the
     * content, MI/RP the session's commands or rate, WM:BLU the sender. */
    {"netease", "dt:spm", BG_SCOPE_MESSAGE, "spamdetected", "NetEase DT:SPM (content)", NETEASE},
    {"netease", "dt:rbl", BG_SCOPE_RELAY, NULL, "NetEase DT:RBL (IP on a DNSBL)", NETEASE},
    {"netease", "wm:bli", BG_SCOPE_RELAY, NULL, "NetEase WM:BLI (IP not allowed)", NETEASE},
    {"netease", "wm:blu", BG_SCOPE_SENDER, "rejected", "NetEase WM:BLU (sender not allowed)", NETEASE},
    {"netease", "hl:rep", BG_SCOPE_RELAY, NULL, "NetEase HL:REP (IP suspended: unknown recipients)", NETEASE},
    /* HL:ICC and HL:IFC suspend the IP for too many connections or too
     * many messages in a short time: a rate limit, as QQ's "frequency
     * limited", not a verdict on the relay */
    {"netease", "hl:icc", BG_SCOPE_TRANSIENT, "toomanyconn", "NetEase HL:ICC (connections over the limit)", NETEASE},
    {"netease", "hl:ifc", BG_SCOPE_TRANSIENT, "speeding", "NetEase HL:IFC (messages over the limit)", NETEASE},
    {"netease", "hl:mep", BG_SCOPE_RELAY, NULL, "NetEase HL:MEP (IP suspended: forged senders)", NETEASE},
    {"netease", "hl:ihu", BG_SCOPE_RELAY, NULL, "NetEase HL:IHU (IP suspended)", NETEASE},
    {"netease", "hl:ipb", BG_SCOPE_RELAY, NULL, "NetEase HL:IPB (IP not allowed)", NETEASE},
    {"netease", "mi:cel", BG_SCOPE_TRANSIENT, "toomanyconn", "NetEase MI:CEL (too many bad commands)", NETEASE},
    {"netease", "mi:dmc", BG_SCOPE_TRANSIENT, "toomanyconn", "NetEase MI:DMC (messages per connection)", NETEASE},
    {"netease", "mi:ccl", BG_SCOPE_TRANSIENT, "toomanyconn", "NetEase MI:CCL (too many commands)", NETEASE},
    {"netease", "mi:sfq", BG_SCOPE_TRANSIENT, "speeding", "NetEase MI:SFQ (sender's rate)", NETEASE},
    {"netease", "rp:drc", BG_SCOPE_TRANSIENT, "toomanyconn", "NetEase RP:DRC (recipients per connection)", NETEASE},
    {"netease", "rp:ccl", BG_SCOPE_TRANSIENT, "toomanyconn", "NetEase RP:CCL (too many commands)", NETEASE},
    {"netease", "rp:cel", BG_SCOPE_TRANSIENT, "toomanyconn", "NetEase RP:CEL (too many bad commands)", NETEASE},
    {"netease", "mail.163.com/help/help_spam_16.htm", BG_SCOPE_RELAY, NULL, "NetEase (IP refused)", NETEASE},
    /* Coremail (163/126 and corporate servers): its own refusals of the
     * connecting host, as its reply table explains them */
    {"coremail", "openrelay check", BG_SCOPE_RELAY, "blocked", "Coremail (refused as an open relay)", COREMAIL},
    {"coremail", "smtpport check error", BG_SCOPE_RELAY, "blocked", "Coremail (not a legitimate mail server)", COREMAIL},
    /* Italian PEC (certified mail) mailboxes that take certified mail only:
     * the relay's ordinary mail will never be let in, whoever sends it */
    {"pec", "non abilitato alla ricezione di posta non certificata", BG_SCOPE_RECIPIENT, "notaccept", "PEC mailbox (takes certified mail only)", PEC},
    {"t-online", "@rx.t-online.de", BG_SCOPE_RELAY, NULL, "T-Online (IP refused)", TONLINE},
    {"free", "too many spams from your ip", BG_SCOPE_RELAY, NULL, "Free (IP refused)", FREE},
    /* The MTAs' own refusals of the connecting host (their defaults). */
    /* smtpd_sender_restrictions (reject_unknown_sender_domain,
     * reject_non_fqdn_sender, an access map): about the envelope sender,
     * also when Postfix delays it to RCPT TO */
    {"postfix", "sender address rejected", BG_SCOPE_SENDER, "rejected", "refused by the recipient's server (sender address)", POSTFIX},
    {"postfix", "client host rejected", BG_SCOPE_RELAY, NULL, "refused by the recipient's server (client host)", POSTFIX},
    {"postfix", "helo command rejected", BG_SCOPE_RELAY, NULL, "refused by the recipient's server (HELO)", POSTFIX},
    {"exim", "helo argument does not match calling host", BG_SCOPE_RELAY, NULL, "refused by the recipient's server (HELO)", EXIM},
    {"qmail", "list of allowed rcpthosts", BG_SCOPE_RECIPIENT, "norelaying", "qmail (domain not served here)", QMAIL},
    /* amavisd-new's refusal of the message's contents, "554 5.7.0 Bounce,
     * id=NNNNN-NN - BANNED: invoice.exe" (its %smtp_reason_by_ccat, whatever
     * the MTA that relays the reply or amavisd's own DSN adds): about the
     * message, never the recipient.  A banned file or type is refused by a
     * security policy (as Sisimai and SES's AttachmentRejected have it); a
     * bad header is the message's form; spam and viruses are what they say. */
    {"amavis", "- banned:", BG_SCOPE_MESSAGE, "securityerror", "amavisd-new (banned contents)", AMAVIS},
    {"amavis", "- infected:", BG_SCOPE_MESSAGE, "virusdetected", "amavisd-new (virus)", AMAVIS},
    {"amavis", "- bad header", BG_SCOPE_MESSAGE, "contenterror", "amavisd-new (bad header)", AMAVIS},
    {"amavis", "- spam", BG_SCOPE_MESSAGE, "spamdetected", "amavisd-new (spam)", AMAVIS},
    {"amavis", "- spammy", BG_SCOPE_MESSAGE, "spamdetected", "amavisd-new (spam)", AMAVIS},
    /* Greylisting (postgrey and the like): try again, about nobody. */
    {"postgrey", "greylisted", BG_SCOPE_TRANSIENT, NULL, "greylisting", POSTGREY},
    {"postgrey", "greylisting in action", BG_SCOPE_TRANSIENT, NULL, "greylisting", POSTGREY},
    {"postgrey", "try again later (greylist", BG_SCOPE_TRANSIENT, NULL, "greylisting", POSTGREY},
    /* Spamhaus named by its lists' long names. */
    {"spamhaus", "dbl.spamhaus.org", BG_SCOPE_SENDER, "rejected", "dbl.spamhaus.org (a domain of the message)", SPAMHAUS},
    {"spamhaus", "spamhaus dbl", BG_SCOPE_SENDER, "rejected", "dbl.spamhaus.org (a domain of the message)", SPAMHAUS},
    {"spamhaus", "domain block list", BG_SCOPE_SENDER, "rejected", "dbl.spamhaus.org (a domain of the message)", SPAMHAUS},
    /* The URI lists: web domains found in the message's body, not the
     * relay's address (which "blocked using multi.surbl.org" would name) */
    {"surbl", "surbl.org", BG_SCOPE_MESSAGE, "spamdetected", "SURBL (a web domain in the message)", SURBL},
    {"uribl", "uribl.com", BG_SCOPE_MESSAGE, "spamdetected", "URIBL (a domain in the message)", URIBL},
    {"spamhaus", "exploits block list", BG_SCOPE_RELAY, NULL, "xbl.spamhaus.org", SPAMHAUS},
    {"spamhaus", "policy block list", BG_SCOPE_RELAY, NULL, "pbl.spamhaus.org", SPAMHAUS},
    {"spamhaus", "spamhaus block list", BG_SCOPE_RELAY, NULL, "sbl.spamhaus.org", SPAMHAUS},
    {"spamhaus", "spamhaus.org/query/ip", BG_SCOPE_RELAY, NULL, "zen.spamhaus.org", SPAMHAUS},
    {"spamhaus", "check.spamhaus.org", BG_SCOPE_RELAY, NULL, "zen.spamhaus.org", SPAMHAUS},
};
/* clang-format on */

#define NBUILTIN (sizeof builtin / sizeof builtin[0])

struct bg_reply_rules {
    bg_reply_rule *rows;
    bg_text_needle *nd; /* each row's match, for the byte-pair prefilter */
    size_t n;
    char *text; /* the file's bytes, which the rows point into */
};

static bg_text_needle builtin_nd[NBUILTIN];
static bg_text_set builtin_set; /* builtin_nd grouped by their rarest pairs */
static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;

/* The needle of a match, without its trailing '*'. */
static void
needle_of(bg_text_needle *nd, const char *m)
{
    size_t n = strlen(m);

    bg_text_needle_initn(nd, m, n > 1 && m[n - 1] == '*' ? n - 1 : n);
}

static void
builtin_needles(void)
{
    for (size_t i = 0; i < NBUILTIN; i++)
        needle_of(&builtin_nd[i], builtin[i].match);
    bg_text_set_init(&builtin_set, builtin_nd, NBUILTIN);
}

const bg_reply_rule *
bg_reply_rules_builtin(size_t *n)
{
    *n = NBUILTIN;
    return builtin;
}

size_t
bg_reply_rules_count(const bg_reply_rules *r)
{
    return r ? r->n : 0;
}

static bool
alnum(char c)
{
    return isalnum((unsigned char)c) != 0;
}

/* Is the needle m in low, bounded on each side where m itself begins or
 * ends with a letter or digit?  A trailing '*' lets letters and digits
 * follow. */
static bool
holds(const char *low, const char *m)
{
    size_t len = strlen(m);
    bool open_end = len > 1 && m[len - 1] == '*';

    if (open_end)
        len--;
    if (len == 0)
        return false;
    size_t total = strlen(low);
    for (const char *p = low; p < low + total;) {
        const char *q = memmem(p, (size_t)(low + total - p), m, len);
        if (q == NULL)
            return false;
        bool left = !alnum(m[0]) || q == low || !alnum(q[-1]);
        bool right = open_end || !alnum(m[len - 1]) || !alnum(q[len]);
        if (left && right)
            return true;
        p = q + 1;
    }
    return false;
}

const bg_reply_rule *
bg_reply_rules_find_pairs(const bg_reply_rules *extra, const char *low,
                          const bg_text_pairs *pp)
{
    if (low == NULL || *low == '\0')
        return NULL;
    pthread_once(&builtin_once, builtin_needles);
    for (size_t i = 0; extra && i < extra->n; i++)
        if (bg_text_needle_may(pp, &extra->nd[i]) && holds(low, extra->rows[i].match))
            return &extra->rows[i];
    /* The built-in rows whose rarest pair the text holds, in table order. */
    uint64_t cand[BG_TEXT_SET_WORDS];
    if (!bg_text_set_candidates(&builtin_set, pp, cand)) {
        for (size_t i = 0; i < NBUILTIN; i++)
            if (bg_text_needle_may(pp, &builtin_nd[i]) && holds(low, builtin[i].match))
                return &builtin[i];
        return NULL;
    }
    for (size_t w = 0; w < builtin_set.nwords; w++)
        for (uint64_t m = cand[w]; m; m &= m - 1) {
            size_t i = w * 64 + (size_t)__builtin_ctzll(m);
            if (bg_text_needle_may(pp, &builtin_nd[i]) && holds(low, builtin[i].match))
                return &builtin[i];
        }
    return NULL;
}

const bg_reply_rule *
bg_reply_rules_find(const bg_reply_rules *extra, const char *low)
{
    bg_text_pairs pp;

    if (low == NULL || *low == '\0')
        return NULL;
    bg_text_pairs_init(&pp, low, strlen(low));
    return bg_reply_rules_find_pairs(extra, low, &pp);
}

static _Atomic(const bg_reply_rules *) in_use;

void
bg_reply_rules_use(const bg_reply_rules *extra)
{
    atomic_store(&in_use, extra);
}

const bg_reply_rules *
bg_reply_rules_in_use(void)
{
    return atomic_load(&in_use);
}

bg_reply_rules *
bg_reply_rules_free(bg_reply_rules *r)
{
    if (r) {
        free(r->rows);
        free(r->nd);
        free(r->text);
        free(r);
    }
    return NULL;
}

static bool
scope_from_name(const char *s, bg_bounce_scope *out)
{
    static const bg_bounce_scope scopes[] = {BG_SCOPE_RECIPIENT, BG_SCOPE_RELAY,
                                             BG_SCOPE_SENDER, BG_SCOPE_MESSAGE,
                                             BG_SCOPE_TRANSIENT};
    for (size_t i = 0; i < sizeof scopes / sizeof scopes[0]; i++)
        if (strcmp(s, bg_scope_name(scopes[i])) == 0) {
            *out = scopes[i];
            return true;
        }
    return false;
}

/* Split line at tabs into at most max fields; returns how many. */
static size_t
split_tabs(char *line, char **f, size_t max)
{
    size_t n = 0;

    for (char *p = line; n < max;) {
        f[n++] = p;
        p = strchr(p, '\t');
        if (p == NULL)
            break;
        *p++ = '\0';
    }
    return n;
}

/* One row of the administrator's file into *row (fields point into line). */
static int
parse_row(char *line, bg_reply_rule *row, const char *path, unsigned lineno,
          bg_error *err)
{
    char *f[7];
    size_t n = split_tabs(line, f, 7);

    if (n != 6)
        return bg_error_set(err,
                            "%s:%u: expected 6 tab-separated columns (provider, match, "
                            "scope, reason, name, source), found %zu",
                            path, lineno, n);
    for (char *p = f[1]; *p; p++)
        if (isupper((unsigned char)*p))
            return bg_error_set(err, "%s:%u: match must be lower case", path, lineno);
    if (f[1][0] == '\0' || strcmp(f[1], "*") == 0)
        return bg_error_set(err, "%s:%u: empty match", path, lineno);
    if (!scope_from_name(f[2], &row->scope))
        return bg_error_set(err,
                            "%s:%u: scope must be recipient, relay, sender, message or "
                            "transient",
                            path, lineno);
    if (strcmp(f[3], "-") != 0 && !bg_reason_is_valid(f[3]))
        return bg_error_set(err,
                            "%s:%u: unknown reason (a word of the reason vocabulary, "
                            "or -)",
                            path, lineno);
    row->provider = f[0];
    row->match = f[1];
    row->reason = strcmp(f[3], "-") == 0 ? NULL : f[3];
    row->name = f[4];
    row->source = f[5];
    return 0;
}

bg_reply_rules *
bg_reply_rules_load(const char *path, bg_error *err)
{
    bg_buf text = BG_BUF_INIT;
    bg_reply_rules *r;
    unsigned lineno = 0;

    if (bg_read_text_file(path, 1u << 20, &text) < 0) {
        int e = errno;

        bg_buf_free(&text);
        bg_error_set(err, "%s: %s", path,
                     e == EFBIG    ? "larger than 1 MB"
                     : e == EILSEQ ? "holds a NUL byte"
                                   : strerror(e));
        return NULL;
    }
    r = bg_xcalloc(1, sizeof *r);
    r->text = bg_buf_steal(&text);
    for (char *line = r->text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        size_t len = strlen(line);
        if (len && line[len - 1] == '\r')
            line[--len] = '\0';
        if (len == 0 || line[0] == '#')
            continue;
        r->rows = bg_xrealloc(r->rows, (r->n + 1) * sizeof *r->rows);
        if (parse_row(line, &r->rows[r->n], path, lineno, err) < 0)
            return bg_reply_rules_free(r);
        r->n++;
    }
    r->nd = bg_xcalloc(r->n ? r->n : 1, sizeof *r->nd);
    for (size_t i = 0; i < r->n; i++)
        needle_of(&r->nd[i], r->rows[i].match);
    return r;
}
