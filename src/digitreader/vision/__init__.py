"""Images -> MNIST-style 28x28 inputs.

- ``vision.io.load_image``: path, bytes, PIL or numpy -> uint8 array (size checked before decoding)
- ``vision.ink``: image -> ink map (polarity, paper and shadows divided out, thresholds)
- ``vision.rules``: ruled lines, squares and a form's boxes in the ink, found and removed
- ``vision.blobs``: ink -> digit-sized groups in reading order (rules and specks removed)
- ``vision.preprocess.preprocess``: an image of one digit -> the 28x28 the model expects
- ``vision.segment``: an image of a number -> one 28x28 per digit (``segment``, ``read_number``)

Functions are not re-exported here: ``vision.preprocess`` must stay the module.
"""
