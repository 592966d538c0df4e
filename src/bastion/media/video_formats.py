"""Which video containers and codecs we agree to open, recognised by their first bytes.

FFmpeg will probe and open several hundred formats, some of which read other files
or URLs named inside the upload (HLS and DASH playlists, ``concat`` lists, image
sequences). So the container is recognised here from its magic numbers and FFmpeg
is told which single demuxer to use: a file that is none of these is refused
before FFmpeg parses a byte of it. The codec of the chosen stream is checked
against an allow-list of mainstream decoders too.
"""

from __future__ import annotations

from typing import Final

from bastion.media.errors import UnsupportedMedia

#: FFmpeg demuxer names, by the container families they read.
CONTAINERS: Final = ("mp4", "matroska", "avi", "flv", "mpegts", "mpeg", "ogg")

#: FFmpeg decoder names of the video codecs we decode.
VIDEO_CODECS: Final = frozenset({
    "h264", "hevc", "vp8", "vp9", "av1", "libdav1d", "mpeg4", "mpeg2video", "mpeg1video", "mjpeg", "theora",
    "h263", "msmpeg4v3", "wmv2", "flv1", "prores", "ffv1",
})

_ISO_BOXES: Final = (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot")
_TS_PACKET: Final = 188


def sniff_container(head: bytes) -> str | None:
    """The demuxer for a file starting with ``head`` (its first few hundred bytes), or None."""
    if len(head) >= 8 and head[4:8] in _ISO_BOXES:
        return "mp4"  # FFmpeg's "mov,mp4,m4a,3gp,3g2,mj2" demuxer: QuickTime, MP4, 3GP
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska"  # also WebM
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    if head.startswith(b"FLV\x01"):
        return "flv"
    if head.startswith(b"\x00\x00\x01\xba"):
        return "mpeg"
    if head.startswith(b"OggS"):
        return "ogg"
    if len(head) > 2 * _TS_PACKET and all(head[i] == 0x47 for i in range(0, 3 * _TS_PACKET, _TS_PACKET)
                                          if i < len(head)):
        return "mpegts"
    return None


def container_of(head: bytes) -> str:
    """:func:`sniff_container`, or :class:`UnsupportedMedia` saying what we accept."""
    if not head:
        raise UnsupportedMedia("The file is empty (0 bytes). Choose a video file and try again.")
    found = sniff_container(head)
    if found is None:
        raise UnsupportedMedia(
            "The file is not a video in a supported container (MP4/MOV/3GP, Matroska/WebM, AVI, FLV, MPEG "
            "program or transport stream, Ogg). Convert it to MP4 (H.264) and try again.")
    return found


def check_codec(name: str) -> None:
    if name not in VIDEO_CODECS:
        raise UnsupportedMedia(
            f"The video is encoded with {name or 'an unknown codec'!s}, which is not decoded here (supported: "
            f"{', '.join(sorted(VIDEO_CODECS))}). Convert it to H.264 and try again.")
