"""The first conv layer of an ascent's body, reading the image itself: the same output as the Conv2D, with a
faster gradient with respect to the image; and any conv layer's weights as float32 arrays."""

import keras
import numpy as np


class ImageConv(keras.layers.Layer):
    """A Conv2D that reads the image itself, with the same output and a faster gradient with respect to the
    image. The framework computes that gradient as a transposed convolution down to the image's few channels,
    which CPUs run far below their speed (the blog CNN's conv1: 13 GFLOP/s, as long as the 11 times larger
    conv2); here it is one matrix product of the upstream gradient with the kernel, its taps then added back
    in place. `reads`: the (rows, columns) at the image's top left that it reads, where the layers after it
    use no more (`map_units.layer_body`); the others get a zero gradient, padded in with the taps. Only the ascent uses
    it: its weights are fixed."""

    def __init__(self, conv, reads=None):
        super().__init__(name=f"{conv.name}_on_image")
        self.activation, self.reads = conv.activation, reads
        self.kernel_values, self.bias_values = conv_weights(conv)

    @staticmethod
    def fits(layer):
        """A Conv2D of stride 1 without dilation or groups that pads nothing."""
        return (
            type(layer) is keras.layers.Conv2D
            and layer.padding == "valid"
            and tuple(layer.strides) == (1, 1)
            and tuple(layer.dilation_rate) == (1, 1)
            and layer.groups == 1
            and layer.data_format == "channels_last"
        )

    def call(self, x):
        return self.activation(_image_conv(self.kernel_values, tuple(x.shape[1:3]), self.reads)(x) + self.bias_values)

    def compute_output_shape(self, shape):
        height, width, _, filters = self.kernel_values.shape
        rows, columns = self.reads or shape[1:3]
        return (shape[0], rows - height + 1, columns - width + 1, filters)


def _image_conv(kernel, size, reads=None):
    """x of `size` (rows, columns) -> the valid convolution of its top-left `reads` pixels (all where None) with
    the fixed `kernel`, with the gradient that `ImageConv` explains."""
    ops = keras.ops
    height, width, channels, filters = kernel.shape
    back = kernel.transpose(3, 0, 1, 2).reshape(filters, height * width * channels)  # filters -> taps x channels
    rows_read, columns_read = reads or size
    below, right = size[0] - rows_read, size[1] - columns_read  # the pixels it does not read

    @ops.custom_gradient
    def convolve(x):
        def gradient(*args, upstream=None):
            upstream = args[0] if upstream is None else upstream
            rows, columns = upstream.shape[1], upstream.shape[2]
            taps = ops.reshape(ops.matmul(upstream, back), (-1, rows, columns, height, width, channels))
            return sum(
                ops.pad(taps[:, :, :, i, j], ((0, 0), (i, height - 1 - i + below), (j, width - 1 - j + right), (0, 0)))
                for i in range(height)
                for j in range(width)
            )

        read = x if reads is None else x[:, :rows_read, :columns_read]
        return ops.conv(read, kernel, 1, "valid", "channels_last"), gradient

    return convolve


def conv_weights(conv):
    """Kernel (h, w, channels, maps) and bias (maps,) of a conv layer, float32 numpy; a bias of zeros where the
    layer has none (use_bias=False, as before a BatchNormalization)."""
    kernel = keras.ops.convert_to_numpy(conv.kernel).astype("float32")
    bias = (
        keras.ops.convert_to_numpy(conv.bias).astype("float32")
        if conv.use_bias
        else np.zeros(kernel.shape[-1], "float32")
    )
    return kernel, bias
