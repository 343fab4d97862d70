"""Bill documents: download each attachment of a bill within size and time limits, from the
portal's own hosts only, extract its text in a child process, store it with a content hash, and feed it to
the matcher. See docs/documents.md.

Safety, in the order a URL meets it (:class:`HostPolicy`, :func:`download`):

1. only ``http``/``https`` URLs without credentials;
2. only the jurisdiction's document hosts (:func:`policy_for`): the hosts of the URLs in its
   configuration, its ``document_hosts``, or else its platform's default document hosts; each on its
   configured port, or the scheme's default port;
3. the host's addresses are resolved once, and a host that resolves to a private, loopback, link-local or
   otherwise non-global address is refused unless it is listed in ``document_hosts``; the connection goes
   to the address that was checked (no second lookup that could answer differently);
4. redirects are followed by hand, at most ``max_redirects``, each hop checked by the same rules;
5. the body is streamed and abandoned past ``max_bytes``; the whole download shares one deadline;
6. what the bytes are is sniffed (:func:`tracker.extract.sniff`), never taken from the URL or the header
   alone; the parser runs in a child process with a time and memory limit.

An unchanged document is neither downloaded nor parsed again: conditional requests (``ETag``,
``Last-Modified``) first, then the sha256 of the bytes (identical bytes stored for any bill reuse that
text). A document whose text changed re-matches its bill in the same transaction.

Modules, in the order a document meets them: :mod:`~tracker.documents.hosts` (which hosts),
:mod:`~tracker.documents.download` (one URL within the limits), :mod:`~tracker.documents.fetcher`
(one document: check, extract, store, re-match), :mod:`~tracker.documents.runs` (what is due, per
jurisdiction and after a crawl), :mod:`~tracker.documents.show` (a bill's documents for people). The text
the matcher reads of them is :mod:`tracker.matcher.document_text`.
"""
