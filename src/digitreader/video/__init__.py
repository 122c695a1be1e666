"""Real-time reading of digits from a camera or a video file.

from digitreader import Recognizer
from digitreader.video import LiveReader, VideoSource, draw

recognizer = Recognizer()
reader = LiveReader(recognizer.classify, line=recognizer.line_reader.log_probs)  # line: optional
with VideoSource(path="clip.mp4") as source:
    for frame in source:
        result = reader.process(frame)      # result.text: the stable number; result.digits: boxes
        annotated = draw(frame.image, result)
"""

from digitreader.video.capture import Frame, VideoError, VideoSource, VideoWriter
from digitreader.video.loop import FpsMeter, FrameResult, LiveReader, Settings, TrackedDigit, frames
from digitreader.video.overlay import draw
from digitreader.video.tracker import Tracker, TrackerConfig

__all__ = [
    "FpsMeter",
    "Frame",
    "FrameResult",
    "LiveReader",
    "Settings",
    "TrackedDigit",
    "Tracker",
    "TrackerConfig",
    "VideoError",
    "VideoSource",
    "VideoWriter",
    "draw",
    "frames",
]
